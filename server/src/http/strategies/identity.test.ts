import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '@atelier/testing';
import { ENTRY_POINTS, STRATEGIES } from './strategy-names.js';

/** `../shared/spec/CONTRACT.md` beside the repository (where CI's clone has it). */
const CONTRACT = new URL('../../../../../shared/spec/CONTRACT.md', import.meta.url);

/** Kinds in CONTRACT.md's "Keys and tokens" table that the server makes but never accepts. */
const NOT_ACCEPTED: Record<string, string> = {
  'webhook secret': 'the server signs its outgoing webhooks with it; no request presents one',
};

/**
 * Routes the core server answers that take no credential, and why. A route that is in
 * none of the endpoints, ENTRY_POINTS or this list fails the test below: declare what it
 * accepts.
 */
const NO_CREDENTIAL: Record<string, string> = {
  'GET /healthz': 'liveness, public',
  'GET /readyz': 'readiness, public',
  'GET /widget.js': 'the widget bundle, public',
  'GET /embed.js': 'the embed bridge, public',
  'GET /^\\/(atelier-studio\\.[0-9a-f]{10}\\.js)$/': "the studio's script, public",
  'GET /v1/files/:tenantId/:file': 'a signed URL: the signature, made by the server, is the permission',
  'GET /v1/assets/:tenantId/:assetId': "a runner's job file, by signed URL",
  'POST /v1/realtime/stream/:id': 'names a stream an admitted page was handed, from that page origin',
};

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer();
});

afterAll(() => server.stop());

type Probe = 'refused' | 'admitted' | 'unknown strategy' | 'error';

/**
 * Runs strategy `name` on the app's Passport instance against a request that carries no
 * credential: a registered strategy refuses it; passport answers a name it does not know
 * with an error instead.
 */
function probe(name: string): Promise<Probe> {
  const bare = { headers: {}, url: '/', query: {}, body: {}, token: '', tenantId: '' };
  return new Promise((resolve) => {
    const run = server.services.identity.passport.authenticate(name, { session: false }, (error: unknown, principal: unknown) =>
      resolve(error ? 'error' : principal ? 'admitted' : 'refused'),
    ) as (request: object, response: undefined, next: (error: unknown) => void) => void;
    run(bare, undefined, (error) =>
      resolve(String(error).includes('Unknown authentication strategy') ? 'unknown strategy' : 'error'),
    );
  });
}

describe('the passport strategies', () => {
  it('refuses a request without a credential under every strategy name, and knows no other name', async () => {
    for (const name of STRATEGIES) expect([name, await probe(name)]).toEqual([name, 'refused']);
    expect(await probe('api-key')).toBe('unknown strategy');
  });

  it('are registered for the operator token and every credential the core server accepts', async () => {
    const accepted = ['secret-key', 'publishable-key', 'embed-key', 'shopper-session', 'runner-token', 'admin'];
    expect([...STRATEGIES].sort()).toEqual([...accepted].sort());
    for (const name of accepted) expect([name, await probe(name)]).toEqual([name, 'refused']);
  });

  it.skipIf(!existsSync(CONTRACT))("cover every credential kind of CONTRACT.md's keys and tokens table", async () => {
    const contract = await readFile(CONTRACT, 'utf8');
    // The section's table: its rows up to the first line that is not one.
    const section = contract.slice(contract.indexOf('## Keys and tokens')).split('\n').slice(1);
    const rows = section.slice(section.findIndex((line) => line.startsWith('|')));
    const table = rows.slice(
      0,
      rows.findIndex((line) => !line.startsWith('|')),
    );
    const kinds = table.slice(2).map((row) => row.split('|')[1]!.trim());
    expect(kinds).toContain('secret key');
    for (const kind of kinds.filter((kind) => !(kind in NOT_ACCEPTED))) {
      expect([kind, await probe(kind.replaceAll(' ', '-'))]).toEqual([kind, 'refused']);
    }
  });

  it('are declared by every REST endpoint and entry point, with names that exist, and every route declares something', async () => {
    expect(server.endpoints.length).toBeGreaterThan(0);
    for (const { method, path, strategies } of server.endpoints) {
      expect(strategies.length, `${method.toUpperCase()} ${path}`).toBeGreaterThan(0);
      for (const name of strategies) expect([path, name, await probe(name)]).toEqual([path, name, 'refused']);
    }
    for (const [entry, strategies] of Object.entries(ENTRY_POINTS)) {
      expect(strategies.length, entry).toBeGreaterThan(0);
      for (const name of strategies) expect([entry, name, await probe(name)]).toEqual([entry, name, 'refused']);
    }
    const declared = new Set([
      ...server.endpoints.map(({ method, path }) => `${method.toUpperCase()} ${path}`),
      ...Object.keys(ENTRY_POINTS),
      ...Object.keys(NO_CREDENTIAL),
    ]);
    expect(server.routes.filter((route) => !declared.has(route))).toEqual([]);
    // The list of routes without a credential names only routes that exist.
    expect(Object.keys(NO_CREDENTIAL).filter((route) => !server.routes.includes(route))).toEqual([]);
  });

  it('lets an entry point authenticate only with the strategies it declares', async () => {
    const runners = server.services.identity.at('WS /v1/runners');
    const bare = { headers: {}, url: '/' };
    await expect(runners.authenticate('publishable-key' as never, bare as never)).rejects.toThrow(
      'WS /v1/runners does not declare the publishable-key strategy',
    );
    await expect(runners.authenticate('runner-token', bare as never)).resolves.toMatchObject({ ok: false });
  });
});
