import { networkInterfaces } from 'node:os';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  REALTIME_CLOSE,
  REALTIME_PATH,
  REALTIME_PROTOCOL_VERSION,
  socketUrl,
  type ServerMessage,
  type ShopperSessionBody,
} from '@atelier/protocol';
import { serverMessageSchema } from '@atelier/protocol/schemas';
import {
  SocketProbe,
  cancelActiveJobs,
  expectProblem,
  startTestServer,
  type TestServer,
  type WidgetProbe,
} from '@atelier/testing';
import { runAsSystem } from '../tenancy/tenant-context.js';

/** Small sizes, so that each limit is met within a few messages. */
const PER_SHOPPER = 2;
const PER_ADDRESS = 3;
const BASIC_RPM = 3;
/** Open widget sockets per address: one more than the address test opens. */
const SOCKETS_PER_ADDRESS = PER_ADDRESS + 2;
const ORIGIN = 'https://shop.test';

type Tenant = { tenantId: string; secretKey: string; publishableKey: string };

/** The server's clock (ServerOptions.now), never stepped here: no bucket refills mid-test. */
const clock = Date.now();
let server: TestServer;
let nextAddress = 1;
const sockets: WidgetProbe[] = [];

/** This machine's first non-loopback IPv4 address: a peer that is no local proxy. */
const outside = Object.values(networkInterfaces())
  .flat()
  .find((address) => address?.family === 'IPv4' && !address.internal)?.address;

beforeAll(async () => {
  // On every interface, so that a socket can come from an address other than loopback.
  server = await startTestServer(
    {
      ATELIER_WIDGET_RPM_PER_SHOPPER: String(PER_SHOPPER),
      ATELIER_WIDGET_RPM_PER_ADDRESS: String(PER_ADDRESS),
      ATELIER_MAX_SOCKETS_PER_ADDRESS: String(SOCKETS_PER_ADDRESS),
      HOST: '0.0.0.0',
    },
    { now: () => new Date(clock) },
  );
  const plan = await fetch(new URL('/admin/v1/plans/basic', server.url), {
    method: 'PUT',
    headers: { Authorization: `Bearer ${server.adminToken}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ requestsPerMinute: BASIC_RPM }),
  });
  expect(plan.status).toBe(200);
});

afterEach(async () => {
  await Promise.all(sockets.splice(0).map((socket) => socket.close()));
  await cancelActiveJobs(server);
});

afterAll(() => server.stop());

/** X-Forwarded-For from the loopback address is trusted (a proxy on the same host). */
function freshAddress(): string {
  return `203.0.113.${nextAddress++}`;
}

/** A socket to the server (at `base`, its loopback URL unless given) that says it is from `address`. */
async function connect(tenant: Tenant, address: string, base = server.url): Promise<WidgetProbe> {
  const probe = await SocketProbe.open<ServerMessage>(
    socketUrl(base, REALTIME_PATH, { key: tenant.publishableKey }),
    { Origin: ORIGIN, 'X-Forwarded-For': address },
    serverMessageSchema,
  );
  sockets.push(probe);
  return probe;
}

/** A shopper's socket from `address`, greeted; `hello` carries a shopper session or a browser id. */
async function studio(
  tenant: Tenant,
  address: string,
  hello: { shopper?: string; browser?: string } = {},
  base = server.url,
): Promise<WidgetProbe> {
  const probe = await connect(tenant, address, base);
  probe.send({ type: 'hello', v: REALTIME_PROTOCOL_VERSION, ...hello });
  await probe.receive('welcome');
  return probe;
}

/** Sends `generate` and returns what answered it: `accepted`, or the `error` naming its ref. */
async function generate(probe: WidgetProbe, ref: string): Promise<Extract<ServerMessage, { type: 'accepted' | 'error' }>> {
  probe.send({ type: 'generate', ref, params: { prompt: 'a walnut desk lamp' } });
  return vi.waitFor(
    () => {
      const answer = [...probe.received('accepted'), ...probe.received('error')].find((message) => message.ref === ref);
      if (!answer) throw new Error(`no answer to ${ref} yet`);
      return answer;
    },
    { timeout: 15_000, interval: 10 },
  );
}

/** `perMinute`: the size of the bucket that refuses; one token of it refills in 60/size s. */
async function expectThrottled(
  probe: WidgetProbe,
  ref: string,
  tenant: Tenant,
  detail: string,
  perMinute: number,
): Promise<void> {
  const answer = await generate(probe, ref);
  expect(answer).toEqual({
    type: 'error',
    ref,
    code: 'rate_limited',
    message: expect.stringContaining(detail),
    retryAfter: 60 / perMinute,
  });
  const created = await runAsSystem('test: generations by ref', () =>
    server.database.models.Generation.countDocuments({ tenantId: tenant.tenantId, ref }),
  );
  expect(created).toBe(0);
}

async function mint(tenant: Tenant, shopperId: string): Promise<string> {
  const response = await server.api(tenant.secretKey, '/v1/sessions', { body: { shopperId } });
  expect(response.status).toBe(201);
  return ((await response.json()) as ShopperSessionBody).token;
}

describe('widget generate rate limits', () => {
  it("throttles a tenant's generates at its plan's rate (shared with its REST calls); another tenant is unaffected", async () => {
    const acme: Tenant = await server.createTenant({ name: 'Acme', plan: 'basic', origins: [ORIGIN] });
    const globex: Tenant = await server.createTenant({ name: 'Globex', plan: 'basic', origins: [ORIGIN] });

    // Anonymous shoppers each on an address of their own: only the tenant's bucket fills.
    for (let i = 1; i <= BASIC_RPM; i += 1) {
      expect(await generate(await studio(acme, freshAddress()), `acme-${i}`)).toMatchObject({ type: 'accepted' });
    }
    await expectThrottled(await studio(acme, freshAddress()), 'acme-over', acme, "plan's requests", BASIC_RPM);
    await expectProblem(await server.api(acme.secretKey, '/v1/balance'), 429, 'rate_limited');

    expect(await generate(await studio(globex, freshAddress()), 'globex-1')).toMatchObject({ type: 'accepted' });
    expect((await server.api(globex.secretKey, '/v1/balance')).status).toBe(200);
  });

  it('throttles a verified shopper across their sockets; another shopper of the shop is unaffected', async () => {
    const acme: Tenant = await server.createTenant({ name: 'Acme shoppers', origins: [ORIGIN] });
    const ada = await mint(acme, 'cust-ada');
    const first = await studio(acme, freshAddress(), { shopper: ada });
    const second = await studio(acme, freshAddress(), { shopper: ada });
    expect(await generate(first, 'ada-1')).toMatchObject({ type: 'accepted' });
    expect(await generate(second, 'ada-2')).toMatchObject({ type: 'accepted' });
    await expectThrottled(first, 'ada-3', acme, 'faster than this studio allows', PER_SHOPPER);

    const bob = await studio(acme, freshAddress(), { shopper: await mint(acme, 'cust-bob') });
    expect(await generate(bob, 'bob-1')).toMatchObject({ type: 'accepted' });
  });

  it('throttles an anonymous browser by the id it keeps, whichever address it comes from', async () => {
    const acme: Tenant = await server.createTenant({ name: 'Acme browsers', origins: [ORIGIN] });
    expect(await generate(await studio(acme, freshAddress(), { browser: 'browser-one' }), 'b1-1')).toMatchObject({
      type: 'accepted',
    });
    const again = await studio(acme, freshAddress(), { browser: 'browser-one' });
    expect(await generate(again, 'b1-2')).toMatchObject({ type: 'accepted' });
    await expectThrottled(again, 'b1-3', acme, 'faster than this studio allows', PER_SHOPPER);

    expect(await generate(await studio(acme, freshAddress(), { browser: 'browser-two' }), 'b2-1')).toMatchObject({
      type: 'accepted',
    });
  });

  it('throttles an address however many browser ids it claims; another address is unaffected', async () => {
    const acme: Tenant = await server.createTenant({ name: 'Acme addresses', origins: [ORIGIN] });
    const address = freshAddress();
    for (let i = 1; i <= PER_ADDRESS; i += 1) {
      const probe = await studio(acme, address, { browser: `made-up-${i}-browser` });
      expect(await generate(probe, `addr-${i}`)).toMatchObject({ type: 'accepted' });
    }
    await expectThrottled(
      await studio(acme, address, { browser: 'made-up-x-browser' }),
      'addr-over',
      acme,
      'this address',
      PER_ADDRESS,
    );

    expect(await generate(await studio(acme, freshAddress()), 'elsewhere')).toMatchObject({ type: 'accepted' });
  });

  it('counts a re-sent ref once: each retry of an accepted generate gets its job again and spends no token', async () => {
    const acme: Tenant = await server.createTenant({ name: 'Acme retries', origins: [ORIGIN] });
    const probe = await studio(acme, freshAddress(), { browser: 'browser-retry' });
    const first = await generate(probe, 'same');
    expect(first).toMatchObject({ type: 'accepted' });
    for (const count of [2, 3]) {
      probe.send({ type: 'generate', ref: 'same', params: { prompt: 'a walnut desk lamp' } });
      const answers = await vi.waitFor(
        () => {
          const all = [...probe.received('accepted'), ...probe.received('error')].filter((message) => message.ref === 'same');
          if (all.length < count) throw new Error(`${all.length} answers to the ref so far`);
          return all;
        },
        { timeout: 15_000, interval: 10 },
      );
      expect(answers).toEqual(Array(count).fill({ ...first, seq: expect.any(Number) }));
    }

    // The shopper's second token is still there, for the second ref; a third ref finds none.
    expect(await generate(probe, 'other')).toMatchObject({ type: 'accepted' });
    await expectThrottled(probe, 'third', acme, 'faster than this studio allows', PER_SHOPPER);
  });

  it.skipIf(outside === undefined)(
    `trusts X-Forwarded-For from the loopback address only: from ${outside ?? 'no non-loopback address on this machine'}, a forged one moves neither generates nor sockets to another address`,
    async () => {
      const acme: Tenant = await server.createTenant({ name: 'Acme outside', origins: [ORIGIN] });
      const base = `http://${outside}:${new URL(server.url).port}`;
      for (let i = 1; i <= PER_ADDRESS; i += 1) {
        // A new forged address (and browser id) each time: were it believed, each would get a bucket.
        const probe = await studio(acme, freshAddress(), { browser: `outside-${i}-browser` }, base);
        expect(await generate(probe, `outside-${i}`)).toMatchObject({ type: 'accepted' });
      }
      const over = await studio(acme, freshAddress(), { browser: 'outside-x-browser' }, base);
      await expectThrottled(over, 'outside-over', acme, 'this address', PER_ADDRESS);

      // Sockets per address count the peer too: PER_ADDRESS + 1 are open from it.
      expect(await studio(acme, freshAddress(), {}, base)).toBeDefined();
      const refused = await connect(acme, freshAddress(), base);
      expect(await refused.closed()).toEqual({ code: REALTIME_CLOSE.tooManyConnections, reason: 'too many connections' });

      // From the loopback address (a local proxy) the same header is the client's address.
      const proxied = await studio(acme, freshAddress(), { browser: 'inside-browser' });
      expect(await generate(proxied, 'inside')).toMatchObject({ type: 'accepted' });
    },
  );
});
