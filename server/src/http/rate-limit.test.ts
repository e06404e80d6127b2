import { networkInterfaces } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CreatedKeyBody } from '@atelier/protocol';
import { expectProblem, startTestServer, type TestServer } from '@atelier/testing';
import { runAsSystem } from '../tenancy/tenant-context.js';

/** REST requests a minute per address on this server: small, so the address test is short. */
const PER_ADDRESS = 6;
/** The `basic` plan's size here, set through the admin API as an operator would. */
const BASIC_RPM = 4;

type Tenant = { tenantId: string; secretKey: string; publishableKey: string };

/** The server's clock (ServerOptions.now): buckets refill only when a test steps it. */
let clock = Date.now();
let server: TestServer;
let nextAddress = 1;

/** This machine's first non-loopback IPv4 address: a peer that is no local proxy. */
const outside = Object.values(networkInterfaces())
  .flat()
  .find((address) => address?.family === 'IPv4' && !address.internal)?.address;

beforeAll(async () => {
  // On every interface, so that a request can come from an address other than loopback.
  server = await startTestServer(
    { ATELIER_RPM_PER_ADDRESS: String(PER_ADDRESS), HOST: '0.0.0.0' },
    { now: () => new Date(clock) },
  );
  const plan = await fetch(new URL('/admin/v1/plans/basic', server.url), {
    method: 'PUT',
    headers: { Authorization: `Bearer ${server.adminToken}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ requestsPerMinute: BASIC_RPM }),
  });
  expect(plan.status).toBe(200);
});

afterAll(() => server.stop());

/**
 * The server trusts X-Forwarded-For from the loopback address (a proxy on the same
 * host), so each test speaks from addresses of its own and the small per-address limit
 * is met only where a test means to meet it.
 */
function freshAddress(): string {
  return `198.51.100.${nextAddress++}`;
}

function call(
  key: string | undefined,
  path: string,
  address: string,
  init: { method?: string; body?: unknown; base?: string } = {},
) {
  return fetch(new URL(path, init.base ?? server.url), {
    method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
    headers: {
      'X-Forwarded-For': address,
      'Content-Type': 'application/json',
      ...(key ? { Authorization: `Bearer ${key}` } : {}),
    },
    ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
  });
}

/** `RateLimit-Limit`, `-Remaining` and `-Reset`, as numbers. */
function singleBucket(response: Response): { limit: number; remaining: number; reset: number } {
  const field = (name: string) => Number(response.headers.get(`RateLimit-${name}`) ?? Number.NaN);
  return { limit: field('Limit'), remaining: field('Remaining'), reset: field('Reset') };
}

/** One bucket's member of `RateLimit-Policy` / `RateLimit` (draft-ietf-httpapi-ratelimit-headers-10). */
function member(response: Response, header: 'RateLimit-Policy' | 'RateLimit', policy: string): Record<string, number> {
  const value = response.headers.get(header) ?? '';
  const item = value
    .split(',')
    .map((part) => part.trim())
    .find((part) => part.startsWith(`"${policy}";`));
  if (!item) throw new Error(`${header} has no "${policy}" member: ${value}`);
  return Object.fromEntries(
    item
      .split(';')
      .slice(1)
      .map((param) => param.split('='))
      .map(([name, number]) => [name!, Number(number)]),
  );
}

function retryAfter(response: Response): number {
  return Number(response.headers.get('Retry-After'));
}

async function generationsOf(tenantId: string): Promise<number> {
  return runAsSystem('test: count generations', () => server.database.models.Generation.countDocuments({ tenantId }));
}

describe('REST rate limits', () => {
  it("throttles a tenant past its plan's requests a minute with 429, Retry-After and RateLimit headers; another tenant is unaffected", async () => {
    const acme: Tenant = await server.createTenant({ name: 'Acme', plan: 'basic' });
    const globex: Tenant = await server.createTenant({ name: 'Globex', plan: 'basic' });

    for (let left = BASIC_RPM - 1; left >= 0; left -= 1) {
      const response = await call(acme.secretKey, '/v1/balance', freshAddress());
      expect(response.status).toBe(200);
      expect(member(response, 'RateLimit-Policy', 'tenant')).toEqual({ q: BASIC_RPM, w: 60 });
      // Each request taken refills in 60/size s: the bucket is full that long after each one.
      expect(member(response, 'RateLimit', 'tenant')).toEqual({ r: left, t: ((BASIC_RPM - left) * 60) / BASIC_RPM });
      // The single-bucket fields name the bucket that binds: the tenant's (each request comes from a fresh address).
      expect(singleBucket(response)).toEqual({ limit: BASIC_RPM, remaining: left, reset: ((BASIC_RPM - left) * 60) / BASIC_RPM });
    }

    // Over the limit, a request that would create work is refused and creates nothing.
    const refused = await call(acme.secretKey, '/v1/generations', freshAddress(), { body: { prompt: 'a walnut desk lamp' } });
    const problem = await expectProblem(refused, 429, 'rate_limited');
    expect(problem.detail).toContain("plan's requests");
    // Retry once one token has refilled; the bucket is full a minute after the burst.
    expect(retryAfter(refused)).toBe(60 / BASIC_RPM);
    expect(problem.detail).toContain(`retry in ${60 / BASIC_RPM} s`);
    expect(member(refused, 'RateLimit-Policy', 'tenant')).toEqual({ q: BASIC_RPM, w: 60 });
    expect(member(refused, 'RateLimit', 'tenant')).toEqual({ r: 0, t: 60 });
    expect(singleBucket(refused)).toEqual({ limit: BASIC_RPM, remaining: 0, reset: 60 });
    expect(await generationsOf(acme.tenantId)).toBe(0);

    // Globex, on the same plan, has its own bucket: untouched by Acme's burst.
    const other = await call(globex.secretKey, '/v1/generations', freshAddress(), { body: { prompt: 'a walnut desk lamp' } });
    expect(other.status).toBe(202);
    expect(member(other, 'RateLimit', 'tenant').r).toBe(BASIC_RPM - 1);
    expect(await generationsOf(globex.tenantId)).toBe(1);

    // The operator's API has no limit, even for the throttled tenant's business.
    const credits = await fetch(new URL(`/admin/v1/tenants/${acme.tenantId}/credits`, server.url), {
      headers: { Authorization: `Bearer ${server.adminToken}` },
    });
    expect(credits.status).toBe(200);
    expect(credits.headers.get('RateLimit')).toBeNull();
  });

  it("limits a key with its own requestsPerMinute, and a refused request spends nothing of the tenant's", async () => {
    const acme: Tenant = await server.createTenant({ name: 'Acme keys', plan: 'pro' });
    const created = await call(acme.secretKey, '/v1/keys', freshAddress(), {
      body: { label: 'reporting', scopes: ['balance:read'], requestsPerMinute: 2 },
    });
    expect(created.status).toBe(201);
    const slow = (await created.json()) as CreatedKeyBody;

    for (let left = 1; left >= 0; left -= 1) {
      const response = await call(slow.key, '/v1/balance', freshAddress());
      expect(response.status).toBe(200);
      expect(member(response, 'RateLimit-Policy', 'key')).toEqual({ q: 2, w: 60 });
      expect(member(response, 'RateLimit', 'key').r).toBe(left);
    }
    const before = Number(member(await call(acme.secretKey, '/v1/balance', freshAddress()), 'RateLimit', 'tenant').r);

    const refused = await call(slow.key, '/v1/balance', freshAddress());
    expect((await expectProblem(refused, 429, 'rate_limited')).detail).toContain('API key');
    expect(retryAfter(refused)).toBe(30);
    expect(member(refused, 'RateLimit', 'key')).toEqual({ r: 0, t: 60 });

    // The tenant's other key goes on; its bucket lost one token, its own request's.
    const after = await call(acme.secretKey, '/v1/balance', freshAddress());
    expect(after.status).toBe(200);
    expect(member(after, 'RateLimit', 'tenant').r).toBe(before - 1);
    expect(() => member(after, 'RateLimit', 'key')).toThrow('no "key" member');
  });

  it('limits each client address, before any credential is read; another address is unaffected', async () => {
    const address = freshAddress();
    for (let left = PER_ADDRESS - 1; left >= 0; left -= 1) {
      // Unknown keys: a flood of guesses counts against the address as much as real calls.
      const response = await call('sk_test_guess', '/v1/balance', address);
      await expectProblem(response, 401, 'unauthorized');
      expect(member(response, 'RateLimit-Policy', 'address')).toEqual({ q: PER_ADDRESS, w: 60 });
      expect(member(response, 'RateLimit', 'address').r).toBe(left);
    }
    const acme: Tenant = await server.createTenant({ name: 'Acme address' });
    const refused = await call(acme.secretKey, '/v1/balance', address);
    expect((await expectProblem(refused, 429, 'rate_limited')).detail).toContain('this address');
    expect(retryAfter(refused)).toBe(60 / PER_ADDRESS);

    const elsewhere = await call(acme.secretKey, '/v1/balance', freshAddress());
    expect(elsewhere.status).toBe(200);
    expect(member(elsewhere, 'RateLimit', 'address').r).toBe(PER_ADDRESS - 1);
  });

  it('refills a bucket continuously: one more request every 60/size s, never the whole bucket at a minute boundary', async () => {
    const acme: Tenant = await server.createTenant({ name: 'Acme refill', plan: 'basic' });
    const balance = () => call(acme.secretKey, '/v1/balance', freshAddress());
    for (let i = 0; i < BASIC_RPM; i += 1) expect((await balance()).status).toBe(200);
    expect(retryAfter(await balance())).toBe(60 / BASIC_RPM);

    // A millisecond short of one token's refill: still refused, for the last second.
    clock += (60 / BASIC_RPM) * 1_000 - 1;
    const almost = await balance();
    await expectProblem(almost, 429, 'rate_limited');
    expect(retryAfter(almost)).toBe(1);
    clock += 1;
    const one = await balance();
    expect(one.status).toBe(200);
    expect(member(one, 'RateLimit', 'tenant')).toEqual({ r: 0, t: 60 });
    expect((await balance()).status).toBe(429);

    // 59.9 s after the burst, a fixed window would have refilled the whole bucket; this one
    // has refilled what the time paid for: 59.9 s after the 4 and 44.9 s after the fifth, 2 more.
    clock += 44_900;
    const statuses = [];
    for (let i = 0; i < BASIC_RPM; i += 1) statuses.push((await balance()).status);
    expect(statuses).toEqual([200, 200, 429, 429]);
  });

  it.skipIf(outside === undefined)(
    `trusts X-Forwarded-For from the loopback address only: from ${outside ?? 'no non-loopback address on this machine'}, a forged one stays in the peer's bucket`,
    async () => {
      const base = `http://${outside}:${new URL(server.url).port}`;
      for (let left = PER_ADDRESS - 1; left >= 0; left -= 1) {
        // A new forged address each time: were it believed, each would get a bucket of its own.
        const response = await call(undefined, '/v1/balance', freshAddress(), { base });
        await expectProblem(response, 401, 'unauthorized');
        expect(member(response, 'RateLimit', 'address').r).toBe(left);
      }
      const refused = await call(undefined, '/v1/balance', freshAddress(), { base });
      expect((await expectProblem(refused, 429, 'rate_limited')).detail).toContain('this address');

      // The same forged header from the loopback address (a local proxy) is the client's address.
      const proxied = await call(undefined, '/v1/balance', freshAddress());
      await expectProblem(proxied, 401, 'unauthorized');
      expect(member(proxied, 'RateLimit', 'address').r).toBe(PER_ADDRESS - 1);
      // …and, proxied, the outside address is a client like any other: its bucket is the empty one.
      await expectProblem(await call(undefined, '/v1/balance', outside!), 429, 'rate_limited');
    },
  );

  it('limits the embed page and the HTTP stream per address too, before the key or the stream is looked up', async () => {
    const address = freshAddress();
    const embed = `/embed/studio?key=pk_test_guess&parent=${encodeURIComponent('https://shop.example')}`;
    const streamPost = () =>
      fetch(new URL('/v1/realtime/stream/no-such-stream', server.url), {
        method: 'POST',
        headers: { 'X-Forwarded-For': address, 'Content-Type': 'text/plain' },
        body: '{"type":"cancel","id":"x"}',
      });
    for (let left = PER_ADDRESS - 1; left >= 0; left -= 1) {
      const response = left % 2 === 0 ? await streamPost() : await call(undefined, embed, address);
      expect(response.status).not.toBe(429);
      expect(member(response, 'RateLimit', 'address').r).toBe(left);
    }
    await expectProblem(await call(undefined, embed, address), 429, 'rate_limited');
    await expectProblem(await streamPost(), 429, 'rate_limited');
    const stream = await call(undefined, '/v1/realtime/stream?key=pk_test_guess', address);
    await expectProblem(stream, 429, 'rate_limited');
  });
});
