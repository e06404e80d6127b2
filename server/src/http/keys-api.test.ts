import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { mongo } from 'mongoose';
import { KEY_SCOPES, isWellFormedKey, keyChecksum, type CreatedKeyBody, type KeyBody, type KeyListBody } from '@atelier/protocol';
import { startTestServer, type TestServer } from '@atelier/testing';
import { runAsSystem, runWithTenant } from '../tenancy/tenant-context.js';

type Tenant = { tenantId: string; secretKey: string; publishableKey: string };

/** The server's clock (ServerOptions.now): tests move it instead of sleeping. */
let clock = Date.now();
let server: TestServer;
let acme: Tenant;
let globex: Tenant;
/** Every database command the server issues, as the driver reports it. */
const commands: mongo.CommandStartedEvent[] = [];

beforeAll(async () => {
  server = await startTestServer({}, { now: () => new Date(clock), monitorCommands: true });
  server.database.connection.getClient().on('commandStarted', (event) => commands.push(event));
  acme = await server.createTenant({ name: 'Acme' });
  globex = await server.createTenant({ name: 'Globex' });
});

afterAll(() => server.stop());

const sha256 = (value: string) => createHash('sha256').update(value).digest('hex');

async function expectProblem(
  response: Response,
  status: number,
  code: string,
): Promise<{ detail: string } & Record<string, unknown>> {
  expect(response.status).toBe(status);
  expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  const problem = (await response.json()) as { detail: string; code: string } & Record<string, unknown>;
  expect(problem.code).toBe(code);
  return problem;
}

async function createKey(by: string, body: unknown): Promise<CreatedKeyBody> {
  const response = await server.api(by, '/v1/keys', { body });
  if (response.status !== 201) throw new Error(`create key: ${response.status} ${await response.text()}`);
  return (await response.json()) as CreatedKeyBody;
}

/** Whether the key opens a read-only route (GET /v1/generations needs only generations:read). */
async function works(key: string): Promise<boolean> {
  const response = await server.api(key, '/v1/generations?limit=1');
  if (response.status !== 200 && response.status !== 401) throw new Error(`unexpected ${response.status}`);
  return response.status === 200;
}

const storedKeys = (tenantId: string) =>
  runAsSystem('test: read keys', () => server.database.models.ApiKey.find({ tenantId }).lean());

describe('secret keys at rest', () => {
  it('are checksummed, stored only as a SHA-256 with a hint, and listed without the secret', async () => {
    expect(isWellFormedKey(acme.secretKey)).toBe(true);
    expect(isWellFormedKey(acme.publishableKey)).toBe(true);
    const stored = await storedKeys(acme.tenantId);
    const secret = stored.find((key) => key.kind === 'secret')!;
    expect(secret.hash).toBe(sha256(acme.secretKey));
    expect(secret.hint).toBe(`sk_test_…${acme.secretKey.slice(-4)}`);
    expect(secret.format).toBe('checksummed');
    expect(secret.scopes).toEqual([...KEY_SCOPES]);
    const raw = JSON.stringify(stored);
    for (const key of [acme.secretKey, acme.publishableKey]) {
      expect(raw).not.toContain(key);
      expect(raw).not.toContain(key.slice(8, 40));
    }

    const response = await server.api(acme.secretKey, '/v1/keys');
    expect(response.status).toBe(200);
    const text = await response.text();
    expect(text).not.toContain(acme.secretKey.slice(8, 40));
    const listed = (JSON.parse(text) as KeyListBody).data.find((key) => key.id === secret._id)!;
    expect(listed).toEqual({
      id: secret._id,
      kind: 'secret',
      mode: 'test',
      hint: secret.hint,
      label: 'default',
      scopes: [...KEY_SCOPES],
      requestsPerMinute: null,
      createdAt: secret.createdAt.toISOString(),
      lastUsedAt: expect.any(String),
      expiresAt: null,
      revokedAt: null,
      rotatedTo: null,
      legacy: false,
    } satisfies KeyBody);
  });

  it('refuses a key whose checksum fails without asking the database anything', async () => {
    const body = acme.secretKey.slice(8, -6);
    const typo = `sk_test_${body.slice(0, 10)}${body[10] === 'x' ? 'y' : 'x'}${body.slice(11)}${acme.secretKey.slice(-6)}`;
    expect(isWellFormedKey(typo)).toBe(false);
    commands.length = 0;
    const problem = await expectProblem(await server.api(typo, '/v1/generations'), 401, 'unauthorized');
    expect(problem.detail).toContain('checksum');
    expect(commands.map((c) => c.commandName)).toEqual([]);

    // The count can see a lookup: a well-formed key that does not exist takes one.
    const forged = `${typo.slice(0, -6)}${keyChecksum(typo.slice(0, -6))}`;
    expect(isWellFormedKey(forged)).toBe(true);
    commands.length = 0;
    const refused = await expectProblem(await server.api(forged, '/v1/generations'), 401, 'unauthorized');
    expect(refused.detail).toContain('not known');
    expect(commands.some((c) => c.commandName === 'find')).toBe(true);
  });

  it('writes lastUsedAt at most once a minute per key', async () => {
    const key = await createKey(acme.secretKey, { label: 'last-used', scopes: ['generations:read'] });
    const updates = () => commands.filter((c) => c.commandName === 'update' && c.command.update === 'api_keys').length;
    const lastUsed = async () => (await storedKeys(acme.tenantId)).find((k) => k._id === key.id)!.lastUsedAt;

    commands.length = 0;
    for (let i = 0; i < 5; i += 1) expect(await works(key.key)).toBe(true);
    expect(updates()).toBe(1);
    expect((await lastUsed())?.getTime()).toBe(clock);

    clock += 59_000;
    expect(await works(key.key)).toBe(true);
    expect(updates()).toBe(1);
    clock += 2_000;
    expect(await works(key.key)).toBe(true);
    expect(updates()).toBe(2);
    expect((await lastUsed())?.getTime()).toBe(clock);
  });
});

describe('expiry, rotation and revocation', () => {
  it('refuses a key once its expiry has passed, and an expiry in the past', async () => {
    const key = await createKey(acme.secretKey, { expiresAt: new Date(clock + 3_600_000).toISOString() });
    expect(key.expiresAt).toBe(new Date(clock + 3_600_000).toISOString());
    expect(await works(key.key)).toBe(true);
    clock += 3_599_000;
    expect(await works(key.key)).toBe(true);
    clock += 1_000;
    const problem = await expectProblem(await server.api(key.key, '/v1/generations'), 401, 'unauthorized');
    expect(problem.detail).toContain('expired');

    const past = await server.api(acme.secretKey, '/v1/keys', { body: { expiresAt: new Date(clock - 1).toISOString() } });
    expect((await expectProblem(past, 400, 'invalid_request')).detail).toContain('expiresAt must be in the future');
  });

  it('keeps the old key working through the grace period the caller chose, then refuses it', async () => {
    const old = await createKey(acme.secretKey, {
      label: 'backend',
      scopes: ['generations:read', 'keys:write'],
      requestsPerMinute: 120,
    });
    const response = await server.api(old.key, `/v1/keys/${old.id}/rotate`, { body: { graceSeconds: 600 } });
    expect(response.status).toBe(201);
    const successor = (await response.json()) as CreatedKeyBody;
    expect(successor).toMatchObject({
      kind: 'secret',
      label: 'backend',
      scopes: ['generations:read', 'keys:write'],
      requestsPerMinute: 120,
      rotatedTo: null,
    });
    expect(successor.id).not.toBe(old.id);
    expect(isWellFormedKey(successor.key)).toBe(true);

    const listed = (await (await server.api(acme.secretKey, '/v1/keys?limit=100')).json()) as KeyListBody;
    expect(listed.data.find((k) => k.id === old.id)).toMatchObject({
      rotatedTo: successor.id,
      expiresAt: new Date(clock + 600_000).toISOString(),
    });

    expect(await works(successor.key)).toBe(true);
    expect(await works(old.key)).toBe(true);
    clock += 599_999;
    expect(await works(old.key)).toBe(true);
    clock += 1;
    expect(await works(old.key)).toBe(false);
    expect(await works(successor.key)).toBe(true);
  });

  it('rotates with no grace at once, at most once per key, and validates graceSeconds', async () => {
    const old = await createKey(acme.secretKey, { label: 'leaked' });
    const rotate = (id: string, body: unknown) => server.api(acme.secretKey, `/v1/keys/${id}/rotate`, { body });
    for (const [body, field] of [
      [{}, 'graceSeconds is required'],
      [{ graceSeconds: -1 }, 'graceSeconds must be at least 0'],
      [{ graceSeconds: 604_801 }, 'graceSeconds must be at most 604800'],
      [{ graceSeconds: 1.5 }, 'whole number'],
      [{ graceSeconds: 0, extra: true }, 'extra'],
    ] as const) {
      expect((await expectProblem(await rotate(old.id, body), 400, 'invalid_request')).detail).toContain(field);
    }
    expect(await works(old.key)).toBe(true);

    const successor = (await (await rotate(old.id, { graceSeconds: 0 })).json()) as CreatedKeyBody;
    expect(await works(old.key)).toBe(false);
    expect(await works(successor.key)).toBe(true);
    expect((await expectProblem(await rotate(old.id, { graceSeconds: 0 }), 409, 'conflict')).detail).toContain(successor.id);
    await expectProblem(await rotate('key_AAAAAAAAAAAAAAAAAAAA', { graceSeconds: 0 }), 404, 'not_found');
  });

  it('revokes a key at once; revoking again changes nothing', async () => {
    const key = await createKey(acme.secretKey, { label: 'revoke-me' });
    expect(await works(key.key)).toBe(true);
    const revoked = await server.api(acme.secretKey, `/v1/keys/${key.id}`, { method: 'DELETE' });
    expect(revoked.status).toBe(200);
    const body = (await revoked.json()) as KeyBody;
    expect(body.revokedAt).toBe(new Date(clock).toISOString());
    expect((await expectProblem(await server.api(key.key, '/v1/generations'), 401, 'unauthorized')).detail).toContain('revoked');

    clock += 5_000;
    const again = (await (await server.api(acme.secretKey, `/v1/keys/${key.id}`, { method: 'DELETE' })).json()) as KeyBody;
    expect(again.revokedAt).toBe(body.revokedAt);
    await expectProblem(
      await server.api(acme.secretKey, `/v1/keys/${key.id}/rotate`, { body: { graceSeconds: 0 } }),
      409,
      'conflict',
    );
  });

  it("answers not_found for another tenant's key, whatever the verb", async () => {
    const acmeKey = await createKey(acme.secretKey, { label: 'mine' });
    await expectProblem(await server.api(globex.secretKey, `/v1/keys/${acmeKey.id}`, { method: 'DELETE' }), 404, 'not_found');
    await expectProblem(
      await server.api(globex.secretKey, `/v1/keys/${acmeKey.id}/rotate`, { body: { graceSeconds: 0 } }),
      404,
      'not_found',
    );
    const globexList = (await (await server.api(globex.secretKey, '/v1/keys?limit=100')).json()) as KeyListBody;
    expect(globexList.data.map((k) => k.id)).not.toContain(acmeKey.id);
    expect(await works(acmeKey.key)).toBe(true);
  });

  it('records key.created, key.rotated and key.revoked in the audit log, with no secret in it', async () => {
    // Each step a millisecond later, so that the log's order is the steps' order.
    const key = await createKey(acme.secretKey, { label: 'audited' });
    clock += 1;
    const successor = (await (
      await server.api(acme.secretKey, `/v1/keys/${key.id}/rotate`, { body: { graceSeconds: 60 } })
    ).json()) as CreatedKeyBody;
    clock += 1;
    await server.api(acme.secretKey, `/v1/keys/${successor.id}`, { method: 'DELETE' });
    const callerId = (await storedKeys(acme.tenantId)).find((k) => k.hash === sha256(acme.secretKey))!._id;

    const events = await runWithTenant(acme.tenantId, () =>
      server.database.models.AuditEvent.find().sort({ at: 1, _id: 1 }).lean(),
    );
    const about = (id: string) => events.filter((e) => e.target?.id === id).map((e) => [e.action, e.actor]);
    expect(about(key.id)).toEqual([
      ['key.created', { kind: 'key', id: callerId }],
      ['key.rotated', { kind: 'key', id: callerId }],
    ]);
    expect(about(successor.id)).toEqual([
      ['key.created', { kind: 'key', id: callerId }],
      ['key.revoked', { kind: 'key', id: callerId }],
    ]);
    const raw = JSON.stringify(events);
    for (const secret of [key.key, successor.key, acme.secretKey]) expect(raw).not.toContain(secret.slice(8, 40));
  });
});

describe('scopes', () => {
  it('answers 403 naming the missing scope, before reading anything', async () => {
    const reader = await createKey(acme.secretKey, { scopes: ['generations:read'] });
    expect(await works(reader.key)).toBe(true);
    const denied = await expectProblem(
      await server.api(reader.key, '/v1/generations', { body: { prompt: 'lamp' } }),
      403,
      'forbidden',
    );
    expect(denied.detail).toContain('generations:write');
    expect(denied.missingScopes).toEqual(['generations:write']);
    // The same answer whether or not the object exists: scope denial reveals nothing.
    const cancel = (id: string) => server.api(reader.key, `/v1/generations/${id}/cancel`, { method: 'POST' });
    expect((await expectProblem(await cancel('gen_AAAAAAAAAAAAAAAAAAAA'), 403, 'forbidden')).detail).toContain(
      'generations:write',
    );
    for (const [method, path, scope] of [
      ['GET', '/v1/keys', 'keys:read'],
      ['POST', '/v1/keys', 'keys:write'],
      ['DELETE', `/v1/keys/${reader.id}`, 'keys:write'],
      ['POST', '/v1/sessions', 'sessions:write'],
    ] as const) {
      const problem = await expectProblem(
        await server.api(reader.key, path, { method, ...(method === 'POST' ? { body: {} } : {}) }),
        403,
        'forbidden',
      );
      expect(problem.detail).toContain(scope);
    }
  });

  it('never lets a key make a key with scopes it lacks (create or rotate)', async () => {
    const manager = await createKey(acme.secretKey, { scopes: ['keys:write', 'keys:read', 'generations:read'] });
    const escalate = await server.api(manager.key, '/v1/keys', { body: { scopes: ['generations:read', 'generations:write'] } });
    const problem = await expectProblem(escalate, 403, 'forbidden');
    expect(problem.detail).toContain('generations:write');
    expect(problem.missingScopes).toEqual(['generations:write']);

    // Its successor would hold every scope of the full key: refused too.
    const fullKeyId = (await storedKeys(acme.tenantId)).find((k) => k.hash === sha256(acme.secretKey))!._id;
    await expectProblem(
      await server.api(manager.key, `/v1/keys/${fullKeyId}/rotate`, { body: { graceSeconds: 0 } }),
      403,
      'forbidden',
    );
    expect(await works(acme.secretKey)).toBe(true);

    const narrower = await createKey(manager.key, { scopes: ['generations:read'] });
    expect(narrower.scopes).toEqual(['generations:read']);
    const inherited = await createKey(manager.key, {});
    expect(inherited.scopes).toEqual(['keys:write', 'keys:read', 'generations:read']);
    const publishable = await createKey(manager.key, { kind: 'publishable', label: 'second storefront' });
    expect(publishable).toMatchObject({ kind: 'publishable', scopes: [] });
    expect(publishable.key).toMatch(/^pk_test_/);
  });

  it('refuses bad key input with 400 naming the field, and creates nothing', async () => {
    const before = (await storedKeys(acme.tenantId)).length;
    for (const [body, field] of [
      [{ scopes: ['generations:delete'] }, 'each scope must be one of'],
      [{ scopes: [] }, 'scopes must name at least one scope'],
      [{ requestsPerMinute: 0 }, 'requestsPerMinute must be at least 1'],
      [{ expiresAt: 'tomorrow' }, 'expiresAt must be an ISO 8601 date-time'],
      [{ kind: 'publishable', scopes: ['generations:read'] }, 'publishable keys have no scopes'],
      [{ mode: 'live' }, 'mode'],
    ] as const) {
      expect(
        (await expectProblem(await server.api(acme.secretKey, '/v1/keys', { body }), 400, 'invalid_request')).detail,
      ).toContain(field);
    }
    expect((await storedKeys(acme.tenantId)).length).toBe(before);
  });
});

describe('other credentials on REST', () => {
  it('refuses a publishable key on every REST route, saying a secret key is needed', async () => {
    for (const [method, path] of [
      ['GET', '/v1/generations'],
      ['POST', '/v1/generations'],
      ['GET', '/v1/keys'],
      ['POST', '/v1/sessions'],
    ] as const) {
      const response = await server.api(acme.publishableKey, path, {
        method,
        ...(method === 'POST' ? { body: { prompt: 'lamp' } } : {}),
      });
      const problem = await expectProblem(response, 401, 'unauthorized');
      expect(problem.detail).toContain('secret key');
      expect(problem.detail).toContain('widget');
    }
  });

  it('accepts a key issued before checksums (all scopes) until it is rotated', async () => {
    const legacy = `sk_test_${'L'.repeat(40)}-_x`;
    await runWithTenant(acme.tenantId, () =>
      server.database.models.ApiKey.create({
        _id: 'key_legacyAAAAAAAAAAAAAA',
        kind: 'secret',
        mode: 'test',
        hash: sha256(legacy),
        hint: `sk_test_…${legacy.slice(-4)}`,
        label: 'old',
      }),
    );
    expect(await works(legacy)).toBe(true);
    const list = (await (await server.api(legacy, '/v1/keys?limit=100')).json()) as KeyListBody;
    expect(list.data.find((k) => k.id === 'key_legacyAAAAAAAAAAAAAA')).toMatchObject({ legacy: true, scopes: [...KEY_SCOPES] });
    const rotated = (await (
      await server.api(legacy, '/v1/keys/key_legacyAAAAAAAAAAAAAA/rotate', { body: { graceSeconds: 0 } })
    ).json()) as CreatedKeyBody;
    expect(rotated).toMatchObject({ legacy: false, scopes: [...KEY_SCOPES] });
    expect(isWellFormedKey(rotated.key)).toBe(true);
    expect(await works(legacy)).toBe(false);
  });
});

describe('the route table', () => {
  it('lists every mounted endpoint with the credential and scopes it declares', () => {
    const table = new Map(server.endpoints.map((ep) => [`${ep.method.toUpperCase()} ${ep.path}`, ep.auth]));
    expect(table.get('POST /v1/generations')).toEqual({ secretKey: ['generations:write'] });
    expect(table.get('GET /v1/keys')).toEqual({ secretKey: ['keys:read'] });
    expect(table.get('POST /v1/keys/:id/rotate')).toEqual({ secretKey: ['keys:write'] });
    expect(table.get('POST /v1/sessions')).toEqual({ secretKey: ['sessions:write'] });
    for (const ep of server.endpoints) {
      if (ep.path.startsWith('/admin/')) expect(ep.auth, ep.path).toBe('admin');
      else expect(typeof ep.auth === 'object' && ep.auth.secretKey.length > 0, ep.path).toBe(true);
    }
  });
});
