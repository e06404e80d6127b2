import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  REALTIME_CLOSE,
  REALTIME_PATH,
  REALTIME_PROTOCOL_VERSION,
  socketUrl,
  type CreatedKeyBody,
  type ServerMessage,
} from '@atelier/protocol';
import { serverMessageSchema } from '@atelier/protocol/schemas';
import { SocketProbe, cancelActiveJobs, startTestServer, type TestServer, type WidgetProbe } from '@atelier/testing';
import { runAsSystem } from '../tenancy/tenant-context.js';

const ORIGIN = 'https://keys.shop.test';
type Tenant = { tenantId: string; secretKey: string; publishableKey: string };

/** The server's clock (ServerOptions.now): stepped to run a key past its expiry. */
let clock = Date.now();
let server: TestServer;
let tenant: Tenant;
const sockets: WidgetProbe[] = [];

beforeAll(async () => {
  server = await startTestServer({}, { now: () => new Date(clock) });
  tenant = await server.createTenant({ name: 'Key ring', plan: 'pro', origins: [ORIGIN] });
});

afterEach(async () => {
  await Promise.all(sockets.splice(0).map((socket) => socket.close()));
  await cancelActiveJobs(server);
});

afterAll(() => server.stop());

async function publishableKey(body: Record<string, unknown> = {}): Promise<CreatedKeyBody> {
  const response = await server.api(tenant.secretKey, '/v1/keys', { body: { kind: 'publishable', ...body } });
  expect(response.status).toBe(201);
  return (await response.json()) as CreatedKeyBody;
}

/** A studio's socket on `key`, greeted. */
async function studio(key: string): Promise<WidgetProbe> {
  const probe = await SocketProbe.open<ServerMessage>(
    socketUrl(server.url, REALTIME_PATH, { key }),
    { Origin: ORIGIN },
    serverMessageSchema,
  );
  sockets.push(probe);
  probe.send({ type: 'hello', v: REALTIME_PROTOCOL_VERSION });
  await probe.receive('welcome');
  return probe;
}

/** Sends `generate` and returns what answered it: `accepted`, or an `error` (naming its ref, or the socket's refusal). */
async function generate(probe: WidgetProbe, ref: string): Promise<Extract<ServerMessage, { type: 'accepted' | 'error' }>> {
  const before = probe.received('error').length;
  probe.send({ type: 'generate', ref, params: { prompt: 'a brass key on velvet' } });
  return vi.waitFor(
    () => {
      const answer =
        probe.received('accepted').find((message) => message.ref === ref) ?? probe.received('error').slice(before)[0];
      if (!answer) throw new Error(`no answer to ${ref} yet`);
      return answer;
    },
    { timeout: 15_000, interval: 10 },
  );
}

const jobsWithRef = (ref: string) =>
  runAsSystem('test: generations by ref', () =>
    server.database.models.Generation.countDocuments({ tenantId: tenant.tenantId, ref }),
  );

/** The socket was refused as a new one with that key would be: told why, closed 4401, nothing created. */
async function expectRefused(probe: WidgetProbe, ref: string): Promise<void> {
  expect(await generate(probe, ref)).toEqual({
    type: 'error',
    code: 'unauthorized',
    message: 'This studio is not configured correctly: the publishable key is not valid.',
  });
  expect((await probe.closed()).code).toBe(REALTIME_CLOSE.unauthorized);
  expect(await jobsWithRef(ref)).toBe(0);
}

describe("a publishable key's standing reaches sockets already open", () => {
  it('refuses the next generate on an open socket once its key is revoked; another key of the shop works on', async () => {
    const doomed = await publishableKey({ label: 'revoked' });
    const kept = await publishableKey({ label: 'kept' });
    const open = await studio(doomed.key);
    const other = await studio(kept.key);
    expect(await generate(open, 'before-revoke')).toMatchObject({ type: 'accepted' });

    expect((await server.api(tenant.secretKey, `/v1/keys/${doomed.id}`, { method: 'DELETE' })).status).toBe(200);
    await expectRefused(open, 'after-revoke');
    expect(await generate(other, 'other-key')).toMatchObject({ type: 'accepted' });
  });

  it('refuses a watch on an open socket once its key is revoked', async () => {
    const doomed = await publishableKey();
    const open = await studio(doomed.key);
    const accepted = await generate(open, 'watched');
    expect(accepted).toMatchObject({ type: 'accepted' });
    expect((await server.api(tenant.secretKey, `/v1/keys/${doomed.id}`, { method: 'DELETE' })).status).toBe(200);

    open.send({ type: 'watch', id: (accepted as { id: string }).id });
    expect(await open.receive('error')).toMatchObject({ code: 'unauthorized' });
    expect((await open.closed()).code).toBe(REALTIME_CLOSE.unauthorized);
  });

  it("refuses it once a rotation's grace is over, and the successor key works", async () => {
    const old = await publishableKey();
    const open = await studio(old.key);
    const rotated = await server.api(tenant.secretKey, `/v1/keys/${old.id}/rotate`, { body: { graceSeconds: 60 } });
    expect(rotated.status).toBe(201);
    const successor = (await rotated.json()) as CreatedKeyBody;
    // Within the grace the old key's socket works on.
    expect(await generate(open, 'within-grace')).toMatchObject({ type: 'accepted' });

    clock += 60_000;
    await expectRefused(open, 'after-grace');
    expect(await generate(await studio(successor.key), 'successor')).toMatchObject({ type: 'accepted' });
  });

  it('refuses it once the key has expired', async () => {
    const expiring = await publishableKey({ expiresAt: new Date(clock + 30_000).toISOString() });
    const open = await studio(expiring.key);
    expect(await generate(open, 'before-expiry')).toMatchObject({ type: 'accepted' });

    clock += 30_000;
    await expectRefused(open, 'after-expiry');
  });
});

describe("a publishable key's own requests a minute", () => {
  it('throttles the generates made with the key, on every socket; another key of the shop is unaffected', async () => {
    const slow = await publishableKey({ requestsPerMinute: 2 });
    const first = await studio(slow.key);
    const second = await studio(slow.key);
    expect(await generate(first, 'slow-1')).toMatchObject({ type: 'accepted' });
    expect(await generate(second, 'slow-2')).toMatchObject({ type: 'accepted' });
    expect(await generate(first, 'slow-3')).toEqual({
      type: 'error',
      ref: 'slow-3',
      code: 'rate_limited',
      message: 'This API key is over its requests a minute; retry in 30 s.',
      retryAfter: 30,
    });
    expect(await jobsWithRef('slow-3')).toBe(0);

    const other = await studio((await publishableKey()).key);
    expect(await generate(other, 'unlimited-key')).toMatchObject({ type: 'accepted' });
  });
});
