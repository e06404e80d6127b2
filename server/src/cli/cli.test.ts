import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dropDatabase, freshDatabaseUri } from '@atelier/testing';
import { connectDatabase, type Database } from '../db/connect.js';
import { AuditLog } from '../services/audit-log.js';
import { KeyService } from '../services/key-service.js';

const run = promisify(execFile);
const bin = fileURLToPath(new URL('../../bin/atelier.js', import.meta.url));

let uri: string;
let dataDir: string;
let database: Database;

/** The real `atelier` command (the built CLI) against a real database. */
function atelier(...args: string[]) {
  return atelierWith({}, ...args);
}

function atelierWith(env: Record<string, string>, ...args: string[]) {
  return run(process.execPath, [bin, ...args], {
    env: { ...process.env, MONGODB_URI: uri, ATELIER_DATA_DIR: dataDir, VITEST: '', ...env },
  });
}

/** How a command that must fail failed. */
function failure(running: Promise<unknown>): Promise<{ code: number; stdout: string; stderr: string }> {
  return running.then(
    () => {
      throw new Error('the command succeeded');
    },
    (error: { code: number; stdout: string; stderr: string }) => error,
  );
}

beforeAll(async () => {
  uri = freshDatabaseUri();
  dataDir = await mkdtemp(join(tmpdir(), 'atelier-cli-'));
  database = await connectDatabase(uri);
});

afterAll(async () => {
  await database.close();
  await dropDatabase(uri);
  await rm(dataDir, { recursive: true, force: true });
});

describe('npx atelier', () => {
  it('tenants create --json prints {tenantId, secretKey, publishableKey} and the keys work', async () => {
    const { stdout } = await atelier(
      'tenants',
      'create',
      '--name',
      'Acme',
      '--plan',
      'pro',
      '--origin',
      'https://shop.example',
      '--json',
    );
    const created = JSON.parse(stdout) as { tenantId: string; secretKey: string; publishableKey: string };
    expect(Object.keys(created).sort()).toEqual(['publishableKey', 'secretKey', 'tenantId']);
    expect(created.secretKey).toMatch(/^sk_test_/);

    const keys = new KeyService({ models: database.models, audit: new AuditLog({ models: database.models }) });
    const secret = await keys.verifySecretKey(created.secretKey);
    expect(secret.ok && secret.tenant._id).toBe(created.tenantId);
    const publishable = await keys.verifyPublishableKey(created.publishableKey);
    expect(publishable.ok && publishable.tenant.origins).toEqual(['https://shop.example']);

    const list = JSON.parse((await atelier('tenants', 'list', '--json')).stdout) as { tenantId: string }[];
    expect(list.map((t) => t.tenantId)).toContain(created.tenantId);
  });

  it('refuses bad input with a clear message, exit code 2, and creates nothing', async () => {
    const before = (JSON.parse((await atelier('tenants', 'list', '--json')).stdout) as unknown[]).length;
    const failure = await atelier(
      'tenants',
      'create',
      '--name',
      'Bad',
      '--plan',
      'gold',
      '--origin',
      'https://shop.example/path',
      '--json',
    ).then(
      () => undefined,
      (error: { code: number; stderr: string }) => error,
    );
    expect(failure?.code).toBe(2);
    expect(failure?.stderr).toContain('plan must be one of');
    expect(failure?.stderr).toContain('origins.0');
    const after = (JSON.parse((await atelier('tenants', 'list', '--json')).stdout) as unknown[]).length;
    expect(after).toBe(before);
  });

  it("tenants audit prints a tenant's log newest first, by action and limit, and a deleted tenant's deletion", async () => {
    const { tenantId } = JSON.parse(
      (await atelier('tenants', 'create', '--name', 'Audited', '--plan', 'basic', '--json')).stdout,
    ) as { tenantId: string };
    await atelier('tenants', 'suspend', tenantId);
    await atelier('credits', 'grant', tenantId, '7', '--reason', 'goodwill');

    type Page = {
      data: { action: string; actor: { kind: string }; details: Record<string, unknown> }[];
      nextCursor: string | null;
    };
    const all = JSON.parse((await atelier('tenants', 'audit', tenantId, '--json')).stdout) as Page;
    expect(all.nextCursor).toBeNull();
    expect(all.data.slice(0, 2).map((event) => event.action)).toEqual(['credits.granted', 'tenant.suspended']);
    expect(all.data.map((event) => event.action).sort()).toEqual([
      'credits.granted',
      'credits.granted',
      'key.created',
      'key.created',
      'tenant.created',
      'tenant.suspended',
    ]);
    expect(new Set(all.data.map((event) => event.actor.kind))).toEqual(new Set(['cli']));

    const keys = JSON.parse(
      (await atelier('tenants', 'audit', tenantId, '--action', 'key.created', '--limit', '1', '--json')).stdout,
    ) as Page;
    expect(keys.data).toEqual([expect.objectContaining({ action: 'key.created' })]);
    expect(keys.nextCursor).not.toBeNull();
    const text = (await atelier('tenants', 'audit', tenantId, '--action', 'credits.granted')).stdout.trim().split('\n');
    expect(text[0]).toMatch(/^\S+Z {2}credits\.granted {2}cli {2}credits:\S+ {2}\{.*"amount":7/);

    const refused = await failure(atelier('tenants', 'audit', tenantId, '--action', 'key.exploded'));
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('key.exploded');

    await atelier('tenants', 'delete', tenantId, '--yes');
    const gone = JSON.parse((await atelier('tenants', 'audit', tenantId, '--json')).stdout) as Page;
    expect(gone.data).toEqual([expect.objectContaining({ action: 'tenant.deleted', actor: { kind: 'cli' } })]);
  });

  it('creates runner tokens', async () => {
    const { token } = JSON.parse((await atelier('runner-tokens', 'create', '--name', 'gpu-01', '--json')).stdout) as {
      token: string;
    };
    expect(token).toMatch(/^rt_[A-Za-z0-9_-]{43}$/);
  });

  it("platform audit prints the operator's plan changes and runner tokens, newest first, without the token", async () => {
    await atelier('plans', 'set', 'basic', '--credits', '321', '--rpm', '17');
    const { id, token } = JSON.parse((await atelier('runner-tokens', 'create', '--name', 'gpu-audit', '--json')).stdout) as {
      id: string;
      token: string;
    };

    const text = (await atelier('platform', 'audit', '--limit', '2')).stdout.trim().split('\n');
    expect(text).toHaveLength(2);
    expect(text[0]).toMatch(
      new RegExp(`^\\S+Z {2}runner_token\\.created {2}cli {2}runner_token:${id} {2}\\{"name":"gpu-audit"\\}$`),
    );
    expect(text[1]).toMatch(/^\S+Z {2}plan\.updated {2}cli {2}plan:basic {2}\{"fields":\["monthlyCredits","requestsPerMinute"\]/);
    expect(text[1]).toContain('"after":{"monthlyCredits":321,"requestsPerMinute":17}');
    expect(text.join('\n')).not.toContain(token);

    type Page = { data: { action: string; details: Record<string, unknown> }[]; nextCursor: string | null };
    const plans = JSON.parse((await atelier('platform', 'audit', '--action', 'plan.updated', '--json')).stdout) as Page;
    expect(plans.data[0]).toMatchObject({ action: 'plan.updated', details: { after: { monthlyCredits: 321 } } });

    const refused = await failure(atelier('platform', 'audit', '--action', 'key.created'));
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('key.created');
  });

  it.each([
    ['an unknown option', ['tenants', 'list', '--bogus'], '--bogus'],
    ['an option without its value', ['tenants', 'create', '--name'], '--name'],
  ])('answers %s with one line and exit code 2', async (_label, args, named) => {
    const failed = await failure(atelier(...args));
    expect(failed.code).toBe(2);
    expect(failed.stderr.trim().split('\n')).toHaveLength(1);
    expect(failed.stderr).toContain(named);
    expect(failed.stdout).toBe('');
  });

  it('stops on invalid configuration with one line naming the variable, and exit code 1', async () => {
    const failed = await failure(atelierWith({ MONGODB_URI: 'postgres://db.example' }, 'tenants', 'list'));
    expect(failed.code).toBe(1);
    expect(failed.stderr.trim()).toBe(
      'atelier: invalid configuration: MONGODB_URI: must start with mongodb:// or mongodb+srv://',
    );
  });
});
