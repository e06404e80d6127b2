import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { REALTIME_PROTOCOL_VERSION, type ShopperSessionBody } from '@atelier/protocol';
import {
  cancelActiveJobs,
  completeJob,
  connectRunner,
  openWidgetSocket,
  pngBytes,
  type RunnerProbe,
  runnersGone,
  startTestServer,
  type TestServer,
  type WidgetProbe,
} from '@atelier/testing';

/**
 * A returning anonymous shopper's remembered results (the widget keeps each with the
 * token of the socket session that made it) can be watched again days later from that
 * browser, for as long as the tenant keeps results, and by nobody else: not without the
 * token, not with another session's, not from another tenant, not as a verified shopper.
 * Real server and sockets; only the process's clock (Date, which the server's tokens,
 * signed links and test clock all read) is moved, and it keeps running. A file (and a
 * server) of its own: the server's in-memory rate buckets keep the future dates.
 */
const ORIGIN = 'http://shop.test';
const DAY_MS = 24 * 60 * 60 * 1000;

let server: TestServer;
let runnerToken: string;
const sockets: (WidgetProbe | RunnerProbe)[] = [];

beforeAll(async () => {
  server = await startTestServer();
  runnerToken = await server.createRunnerToken();
});

afterEach(async () => {
  await Promise.all(sockets.splice(0).map((socket) => socket.close()));
  await runnersGone(server);
  vi.useRealTimers();
  await cancelActiveJobs(server);
});

/** Moves the clock on by `days` (from wherever it stands); it keeps running from there. */
function later(days: number): void {
  vi.useFakeTimers({ toFake: ['Date'], now: Date.now() + days * DAY_MS, shouldAdvanceTime: true });
}

afterAll(() => server.stop());

type Tenant = { tenantId: string; secretKey: string; publishableKey: string };

/** A widget socket after hello: anonymous (a browser id) or as a verified shopper. Answers its session token. */
async function widget(tenant: Tenant, shopper?: string): Promise<{ probe: WidgetProbe; session: string }> {
  const probe = await openWidgetSocket(server.url, tenant.publishableKey, ORIGIN);
  sockets.push(probe);
  const browser = `browser-${String(sockets.length).padStart(12, '0')}`;
  probe.send({ type: 'hello', v: REALTIME_PROTOCOL_VERSION, ...(shopper ? { shopper } : { browser }) });
  return { probe, session: (await probe.receive('welcome')).session };
}

/** One finished picture made on `probe`'s session: its generation id. */
async function finishedOn(probe: WidgetProbe): Promise<string> {
  probe.send({ type: 'generate', ref: 'made', params: { prompt: 'a walnut desk lamp' } });
  const { id } = await probe.receive('accepted');
  const runner = await connectRunner(server.url, runnerToken);
  sockets.push(runner);
  runner.send({ type: 'ready' });
  const job = await runner.receive('job', (message) => message.jobId === id);
  completeJob(runner, job, [await pngBytes(30, 60, 90)]);
  await probe.receive('completed', (message) => message.id === id);
  return id;
}

async function shopperSession(tenant: Tenant, shopperId: string): Promise<string> {
  const response = await server.api(tenant.secretKey, '/v1/sessions', { body: { shopperId } });
  expect(response.status).toBe(201);
  return ((await response.json()) as ShopperSessionBody).token;
}

describe("an anonymous shopper's remembered result", () => {
  it('comes back days later with fresh image links to the browser that kept its session token', async () => {
    const tenant = await server.createTenant({ origins: [ORIGIN] });
    const first = await widget(tenant);
    const id = await finishedOn(first.probe);
    await first.probe.close();

    // Three days on: the token no longer resumes its socket session, but still proves it.
    later(3);
    const returning = await widget(tenant);
    returning.probe.send({ type: 'watch', id, session: first.session, ref: 'again' });
    const completed = await returning.probe.receive('completed', (message) => message.id === id);
    const file = await fetch(completed.images[0]!.url);
    expect(file.status).toBe(200);
    await file.arrayBuffer();
  });

  it('is refused to anyone without that token, in another tenant, or as a verified shopper', async () => {
    const tenant = await server.createTenant({ origins: [ORIGIN] });
    const other = await server.createTenant({ origins: [ORIGIN] });
    const first = await widget(tenant);
    const id = await finishedOn(first.probe);
    later(3);

    const stranger = await widget(tenant);
    const [payload] = first.session.split('.');
    for (const session of [undefined, stranger.session, `${payload}.${'A'.repeat(43)}`]) {
      stranger.probe.send({ type: 'watch', id, ...(session === undefined ? {} : { session }), ref: 'try' });
      expect(await stranger.probe.receive('error', (message) => message.ref === 'try')).toMatchObject({ code: 'not_found' });
    }
    // The right token, the wrong tenant's socket.
    const elsewhere = await widget(other);
    elsewhere.probe.send({ type: 'watch', id, session: first.session, ref: 'try' });
    expect(await elsewhere.probe.receive('error', (message) => message.ref === 'try')).toMatchObject({ code: 'not_found' });
    // The right token on a verified shopper's socket: an anonymous session is not theirs.
    const verified = await widget(tenant, await shopperSession(tenant, 'cust-1'));
    verified.probe.send({ type: 'watch', id, session: first.session, ref: 'try' });
    expect(await verified.probe.receive('error', (message) => message.ref === 'try')).toMatchObject({ code: 'not_found' });
  });

  it('is refused once the tenant would no longer keep it', async () => {
    const tenant = await server.createTenant({ origins: [ORIGIN] });
    const config = await server.api(tenant.secretKey, '/v1/config', { method: 'PUT', body: { retentionDays: 2 } });
    expect(config.status).toBe(200);
    const first = await widget(tenant);
    const id = await finishedOn(first.probe);

    // The token's day plus two days of retention: still proof.
    later(2.9);
    const within = await widget(tenant);
    within.probe.send({ type: 'watch', id, session: first.session, ref: 'within' });
    await within.probe.receive('completed', (message) => message.id === id);

    later(0.2);
    const past = await widget(tenant);
    past.probe.send({ type: 'watch', id, session: first.session, ref: 'past' });
    expect(await past.probe.receive('error', (message) => message.ref === 'past')).toMatchObject({ code: 'not_found' });
  });
});
