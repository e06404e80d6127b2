import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  PROBLEM_TYPE_BASE,
  REALTIME_CLOSE,
  REALTIME_PATH,
  REALTIME_PROTOCOL_VERSION,
  RUNNER_CLOSE,
  RUNNER_PATH,
  RUNNER_PROTOCOL_VERSION,
  socketUrl,
  type ServerMessage,
  type ServerToRunnerMessage,
} from '@atelier/protocol';
import { serverMessageSchema, serverToRunnerMessageSchema } from '@atelier/protocol/schemas';
import {
  RawWebSocket,
  SocketProbe,
  UpgradeRefused,
  completeOneGeneration,
  rawUpgradeRequest,
  runnersGone,
  startTestServer,
  type TestServer,
} from '@atelier/testing';

/**
 * Sockets are a resource a stranger can hoard: each one must say hello in time, and
 * there are only so many per address, per tenant and per runner token. Addresses are
 * told apart by X-Forwarded-For, which the server honours from a loopback peer (a
 * reverse proxy on the same host) as these tests are.
 */
const ACME_ORIGIN = 'https://acme.test';
const GLOBEX_ORIGIN = 'https://globex.test';
const PER_ADDRESS = 3;
const PER_TENANT = 4;
const PER_TOKEN = 2;

type Tenant = { tenantId: string; secretKey: string; publishableKey: string };

let server: TestServer;
let acme: Tenant;
let globex: Tenant;
let runnerToken: string;
const open: { close(): Promise<unknown> }[] = [];

beforeAll(async () => {
  server = await startTestServer({
    ATELIER_HELLO_TIMEOUT_MS: '300',
    ATELIER_MAX_SOCKETS_PER_ADDRESS: String(PER_ADDRESS),
    ATELIER_MAX_SOCKETS_PER_TENANT: String(PER_TENANT),
    ATELIER_MAX_RUNNER_SOCKETS_PER_TOKEN: String(PER_TOKEN),
  });
  acme = await server.createTenant({ name: 'Acme', origins: [ACME_ORIGIN] });
  globex = await server.createTenant({ name: 'Globex', origins: [GLOBEX_ORIGIN] });
  runnerToken = await server.createRunnerToken();
});

afterEach(async () => {
  await Promise.all(open.splice(0).map((socket) => socket.close()));
  await runnersGone(server);
});

afterAll(() => server.stop());

function keep<T extends { close(): Promise<unknown> }>(socket: T): T {
  open.push(socket);
  return socket;
}

async function openWidget(tenant: Tenant, origin: string, address: string): Promise<SocketProbe<ServerMessage>> {
  return keep(
    await SocketProbe.open<ServerMessage>(
      socketUrl(server.url, REALTIME_PATH, { key: tenant.publishableKey }),
      { Origin: origin, 'X-Forwarded-For': address },
      serverMessageSchema,
    ),
  );
}

/**
 * A widget socket that said hello and was welcomed (so the hello deadline does not end
 * it); throws at once when the server closes it instead.
 */
async function widget(tenant: Tenant, origin: string, address: string): Promise<SocketProbe<ServerMessage>> {
  const socket = await openWidget(tenant, origin, address);
  socket.send({ type: 'hello', v: REALTIME_PROTOCOL_VERSION });
  await Promise.race([socket.receive('welcome'), refusedWith(socket)]);
  return socket;
}

async function openRunner(address: string, token = runnerToken): Promise<SocketProbe<ServerToRunnerMessage>> {
  return keep(
    await SocketProbe.open<ServerToRunnerMessage>(
      socketUrl(server.url, RUNNER_PATH),
      { Authorization: `Bearer ${token}`, 'X-Forwarded-For': address },
      serverToRunnerMessageSchema,
    ),
  );
}

async function runner(address: string, token = runnerToken): Promise<SocketProbe<ServerToRunnerMessage>> {
  const socket = await openRunner(address, token);
  socket.send({
    type: 'hello',
    v: RUNNER_PROTOCOL_VERSION,
    name: 'limits',
    device: 'cpu',
    model: 'tiny',
    maxPixels: 1024 * 1024,
  });
  await Promise.race([socket.receive('welcome'), refusedWith(socket)]);
  return socket;
}

async function refusedWith(socket: SocketProbe<{ type: string }>): Promise<never> {
  const { code, reason } = await socket.closed(60_000);
  throw new Error(`closed with ${code} ${reason}`);
}

/** Retries until a new socket is admitted: the server frees a slot once it has seen the close. */
const eventually = (open: () => Promise<unknown>) => vi.waitFor(open, { timeout: 5_000, interval: 50 });

function expectProblem(
  refusal: { status: number; headers: Record<string, unknown>; body: string },
  status: number,
  code: string,
) {
  expect(refusal.status).toBe(status);
  expect(refusal.headers['content-type']).toBe('application/problem+json');
  expect(JSON.parse(refusal.body)).toEqual({
    type: `${PROBLEM_TYPE_BASE}${code}`,
    title: expect.any(String),
    status,
    detail: expect.any(String),
    code,
  });
}

async function refusedUpgrade(promise: Promise<unknown>): Promise<UpgradeRefused> {
  const error = await promise.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(UpgradeRefused);
  return error as UpgradeRefused;
}

describe('hello deadline', () => {
  it('closes a widget socket that never says hello with 4408', async () => {
    const socket = await openWidget(acme, ACME_ORIGIN, '192.0.2.10');
    expect(await socket.closed()).toEqual({ code: REALTIME_CLOSE.helloTimeout, reason: 'no hello' });
    expect(socket.log).toEqual([]);
  });

  it('closes a runner socket that never says hello with 4408', async () => {
    const socket = await openRunner('198.51.100.10');
    expect(await socket.closed()).toEqual({ code: RUNNER_CLOSE.helloTimeout, reason: 'no hello' });
  });

  it('leaves a widget and a runner that said hello open past the deadline', async () => {
    const early = await widget(acme, ACME_ORIGIN, '192.0.2.11');
    const greeted = await runner('198.51.100.11');
    // A socket opened after them is closed once the deadline has passed for it, and so
    // for both of them too.
    const late = await openWidget(acme, ACME_ORIGIN, '192.0.2.12');
    expect((await late.closed()).code).toBe(REALTIME_CLOSE.helloTimeout);
    early.send({ type: 'hello', v: REALTIME_PROTOCOL_VERSION });
    expect(await early.receive('error')).toMatchObject({ code: 'invalid_request', message: 'This socket already said hello.' });
    expect(early.isOpen).toBe(true);
    expect(greeted.isOpen).toBe(true);
  });
});

describe('widget connection caps', () => {
  it(`refuses the socket over ${PER_ADDRESS} per address with rate_limited and 4429; closing one frees its slot`, async () => {
    const address = '192.0.2.20';
    const first = await widget(acme, ACME_ORIGIN, address);
    for (let i = 1; i < PER_ADDRESS; i++) await widget(acme, ACME_ORIGIN, address);

    const over = await openWidget(acme, ACME_ORIGIN, address);
    expect(await over.closed()).toEqual({ code: REALTIME_CLOSE.tooManyConnections, reason: 'too many connections' });
    expect(over.log).toEqual([
      {
        type: 'error',
        code: 'rate_limited',
        message: expect.stringContaining('from this address'),
        retryAfter: expect.any(Number),
      },
    ]);
    // Another address is not affected, even for the same tenant.
    await widget(acme, ACME_ORIGIN, '192.0.2.21');

    await first.close();
    await eventually(() => widget(acme, ACME_ORIGIN, address));
  });

  it(`refuses the socket over ${PER_TENANT} per tenant with rate_limited and 4429; another tenant is not affected`, async () => {
    const shop = await server.createTenant({ name: 'Initech', origins: [ACME_ORIGIN] });
    const sockets = [];
    for (let i = 0; i < PER_TENANT; i++) sockets.push(await widget(shop, ACME_ORIGIN, `192.0.2.${30 + i}`));

    const over = await openWidget(shop, ACME_ORIGIN, '192.0.2.40');
    expect(await over.closed()).toEqual({ code: REALTIME_CLOSE.tooManyConnections, reason: 'too many connections' });
    expect(over.log).toEqual([
      { type: 'error', code: 'rate_limited', message: expect.stringContaining('for this shop'), retryAfter: expect.any(Number) },
    ]);

    // The same address, for another tenant.
    const other = await widget(globex, GLOBEX_ORIGIN, '192.0.2.40');
    expect(other.isOpen).toBe(true);

    await sockets[0]!.close();
    await eventually(() => widget(shop, ACME_ORIGIN, '192.0.2.41'));
  });

  it('refused and over-cap sockets whose peer never answers the close are dropped, and free their slots', async () => {
    // ws would wait 30 s for these answers; `closed()` gives up after 15.
    const address = '192.0.2.50';
    const refused = [];
    for (let i = 0; i < PER_ADDRESS; i++) {
      refused.push(
        await RawWebSocket.connect(socketUrl(server.url, REALTIME_PATH, { key: 'pk_unknown' }), {
          headers: { Origin: ACME_ORIGIN, 'X-Forwarded-For': address },
        }),
      );
    }
    for (const socket of refused)
      expect(await socket.closed()).toEqual({ code: REALTIME_CLOSE.unauthorized, reason: 'unauthorized' });

    for (let i = 0; i < PER_ADDRESS; i++) await eventually(() => widget(acme, ACME_ORIGIN, address));
    const over = await RawWebSocket.connect(socketUrl(server.url, REALTIME_PATH, { key: acme.publishableKey }), {
      headers: { Origin: ACME_ORIGIN, 'X-Forwarded-For': address },
    });
    expect(await over.closed()).toEqual({ code: REALTIME_CLOSE.tooManyConnections, reason: 'too many connections' });
  });
});

describe('runner connection caps', () => {
  it(`answers the runner upgrade over ${PER_ADDRESS} per address with HTTP 429 problem+json; closing one frees its slot`, async () => {
    const address = '198.51.100.20';
    const tokens = [await server.createRunnerToken(), await server.createRunnerToken()];
    const held = [];
    for (let i = 0; i < PER_ADDRESS; i++) held.push(await runner(address, tokens[i % 2]));
    expectProblem(await refusedUpgrade(openRunner(address, tokens[1])), 429, 'rate_limited');

    await held[0]!.close();
    await eventually(() => runner(address, tokens[1]));
  });

  it(`closes the runner socket over ${PER_TOKEN} per token with 4429; closing one frees its slot`, async () => {
    const token = await server.createRunnerToken();
    const first = await runner('198.51.100.30', token);
    await runner('198.51.100.31', token);
    const over = await openRunner('198.51.100.32', token);
    expect(await over.closed()).toEqual({
      code: RUNNER_CLOSE.tooManyConnections,
      reason: 'too many connections for this runner token',
    });

    await first.close();
    await eventually(() => runner('198.51.100.33', token));
  });
});

describe('upgrade refusals', () => {
  it('an unknown path is 404 problem+json', async () => {
    expectProblem(await rawUpgradeRequest(socketUrl(server.url, '/v1/nothing-here')), 404, 'not_found');
  });

  it('a missing or bad runner token is 401 problem+json', async () => {
    expectProblem(await rawUpgradeRequest(socketUrl(server.url, RUNNER_PATH)), 401, 'unauthorized');
    const bad = await rawUpgradeRequest(socketUrl(server.url, RUNNER_PATH), {
      headers: { Authorization: `Bearer rt_${'x'.repeat(43)}` },
    });
    expectProblem(bad, 401, 'unauthorized');
  });

  it.each([
    ['a bad Sec-WebSocket-Key', { 'Sec-WebSocket-Key': 'not-a-key' }],
    ['an unsupported Sec-WebSocket-Version', { 'Sec-WebSocket-Version': '7' }],
    ['an Upgrade header other than websocket', { Upgrade: 'h2c' }],
  ])('a widget handshake with %s is 400 problem+json and holds no slot', async (_label, headers) => {
    const address = '192.0.2.60';
    for (let i = 0; i < PER_ADDRESS + 2; i++) {
      const refusal = await rawUpgradeRequest(socketUrl(server.url, REALTIME_PATH, { key: acme.publishableKey }), {
        headers: { Origin: ACME_ORIGIN, 'X-Forwarded-For': address, ...headers },
      });
      expectProblem(refusal, 400, 'invalid_request');
    }
    await eventually(() => widget(acme, ACME_ORIGIN, address));
  });

  it('a runner handshake with a bad Sec-WebSocket-Key is 400 problem+json and holds no slot', async () => {
    const address = '198.51.100.60';
    for (let i = 0; i < PER_ADDRESS + 2; i++) {
      const refusal = await rawUpgradeRequest(socketUrl(server.url, RUNNER_PATH), {
        headers: { Authorization: `Bearer ${runnerToken}`, 'X-Forwarded-For': address, 'Sec-WebSocket-Key': 'nope' },
      });
      expectProblem(refusal, 400, 'invalid_request');
    }
    await eventually(() => runner(address));
  });

  it('clients that hang up while their key is being checked hold no slot', async () => {
    const address = '192.0.2.70';
    for (let i = 0; i < PER_ADDRESS + 2; i++) {
      const hungUp = RawWebSocket.connect(socketUrl(server.url, REALTIME_PATH, { key: acme.publishableKey }), {
        headers: { Origin: ACME_ORIGIN, 'X-Forwarded-For': address },
        hangUp: true,
      });
      await expect(hungUp).rejects.toThrow(/closed the connection before answering/);
    }
    await eventually(() => widget(acme, ACME_ORIGIN, address));
  });

  it('after all this the server still completes a generation', async () => {
    const completed = await completeOneGeneration(server.url, {
      publishableKey: acme.publishableKey,
      origin: ACME_ORIGIN,
      runnerToken,
    });
    expect(completed.images).toHaveLength(1);
  });
});
