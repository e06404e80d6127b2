import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  REALTIME_CLOSE,
  REALTIME_MAX_FRAME_BYTES,
  REALTIME_PATH,
  REALTIME_PROTOCOL_VERSION,
  RUNNER_CLOSE,
  RUNNER_MAX_FRAME_BYTES,
  RUNNER_PATH,
  RUNNER_PROTOCOL_VERSION,
  socketUrl,
} from '@atelier/protocol';
import {
  OPCODE,
  RawWebSocket,
  closePayload,
  cancelActiveJobs,
  completeOneGeneration,
  encodeFrame,
  startTestServer,
  type RoundTripParties,
  type TestServer,
} from '@atelier/testing';
import { runAsSystem } from '../tenancy/tenant-context.js';
import { WIDGET_MESSAGE_BUDGET } from './widget-hub.js';

/**
 * What a stranger can send down either socket. Before every socket had an 'error'
 * listener, each of these frames killed the server process; now `ws` closes that one
 * socket with the RFC 6455 code and the server carries on.
 */
const ORIGIN = 'https://shop.test';

let server: TestServer;
let parties: RoundTripParties;

beforeAll(async () => {
  // The flood test counts what the message budget lets through, not the generate limits (rate-limit tests).
  server = await startTestServer({ ATELIER_WIDGET_RPM_PER_ADDRESS: '1000', ATELIER_WIDGET_RPM_PER_SHOPPER: '1000' });
  const tenant = await server.createTenant({ origins: [ORIGIN] });
  parties = { publishableKey: tenant.publishableKey, origin: ORIGIN, runnerToken: await server.createRunnerToken() };
});

afterAll(() => server.stop());

const MB = 1024 * 1024;
const frames = {
  'a text frame of invalid UTF-8 (C3 28 FF)': encodeFrame({ opcode: OPCODE.text, payload: Buffer.from([0xc3, 0x28, 0xff]) }),
  'a 1 MB text frame': encodeFrame({ opcode: OPCODE.text, payload: Buffer.alloc(MB, 0x61) }),
  'an unmasked client frame': encodeFrame({ opcode: OPCODE.text, payload: '{"type":"hello","v":1}', masked: false }),
  'a close frame with code 999': encodeFrame({ opcode: OPCODE.close, payload: closePayload(999) }),
} as const;
type FrameName = keyof typeof frames;

/** A widget socket with no key and no Origin: refused with 4401 as soon as it opens. */
async function refusedWidget(early: Uint8Array): Promise<RawWebSocket> {
  // The frame rides in the same write as the upgrade request, so the server reads it
  // only after it has sent its refusal: the path of the original crash.
  return RawWebSocket.connect(socketUrl(server.url, REALTIME_PATH), { early });
}

async function admittedWidget(): Promise<RawWebSocket> {
  const socket = await RawWebSocket.connect(socketUrl(server.url, REALTIME_PATH, { key: parties.publishableKey }), {
    headers: { Origin: ORIGIN },
  });
  socket.sendJson({ type: 'hello', v: REALTIME_PROTOCOL_VERSION });
  await socket.receive('welcome');
  return socket;
}

async function greetedRunner(): Promise<RawWebSocket> {
  const socket = await RawWebSocket.connect(socketUrl(server.url, RUNNER_PATH), {
    headers: { Authorization: `Bearer ${parties.runnerToken}` },
  });
  socket.sendJson({
    type: 'hello',
    v: RUNNER_PROTOCOL_VERSION,
    name: 'abuse',
    device: 'cpu',
    model: 'tiny',
    maxPixels: 1024 * 1024,
  });
  await socket.receive('welcome');
  return socket;
}

async function expectServerStillWorks(): Promise<void> {
  const completed = await completeOneGeneration(server.url, parties);
  expect(completed.images).toHaveLength(1);
  const image = await fetch(completed.images[0]!.url);
  expect(image.status).toBe(200);
  expect(
    Buffer.from(await image.arrayBuffer())
      .subarray(1, 4)
      .toString('latin1'),
  ).toBe('PNG');
}

describe('a malformed frame on the refused widget socket (no key, no Origin)', () => {
  it.each(Object.keys(frames) as FrameName[])(
    '%s: the refusal stands (4401), the connection ends, the server carries on',
    async (name) => {
      const socket = await refusedWidget(frames[name]);
      expect(await socket.closeFrameReceived()).toEqual({ code: REALTIME_CLOSE.unauthorized, reason: 'unauthorized' });
      expect(socket.messages).toEqual([{ type: 'error', code: 'unauthorized', message: expect.any(String) }]);
      // The server read the frame after its refusal (the path that used to crash) and
      // ended the connection; this client never answers a close frame.
      expect(await socket.closed()).toEqual({ code: REALTIME_CLOSE.unauthorized, reason: 'unauthorized' });
      await expectServerStillWorks();
    },
  );
});

describe('a malformed frame on an admitted widget socket (after hello)', () => {
  it.each([
    ['a text frame of invalid UTF-8 (C3 28 FF)', 1007],
    ['a 1 MB text frame', 1009],
    ['an unmasked client frame', 1002],
    ['a close frame with code 999', 1002],
  ] as [FrameName, number][])('%s: closed with %i, the server carries on', async (name, code) => {
    const socket = await admittedWidget();
    socket.write(frames[name]);
    expect((await socket.closed()).code).toBe(code);
    await expectServerStillWorks();
  });

  it('a frame of exactly the 64 KiB limit is read (and answered as not JSON); one byte more is 1009', async () => {
    const socket = await admittedWidget();
    socket.sendFrame({ opcode: OPCODE.text, payload: Buffer.alloc(REALTIME_MAX_FRAME_BYTES, 0x61) });
    expect(await socket.receive('error')).toMatchObject({ code: 'invalid_request', message: 'That message is not JSON.' });
    socket.sendFrame({ opcode: OPCODE.text, payload: Buffer.alloc(REALTIME_MAX_FRAME_BYTES + 1, 0x61) });
    expect((await socket.closed()).code).toBe(1009);
  });
});

describe('a malformed frame on a runner socket (valid token, after hello)', () => {
  it.each([
    ['a text frame of invalid UTF-8 (C3 28 FF)', 1007],
    // Under the runner's frame limit: read, and refused as not the runner protocol.
    ['a 1 MB text frame', RUNNER_CLOSE.protocolError],
    ['an unmasked client frame', 1002],
    ['a close frame with code 999', 1002],
  ] as [FrameName, number][])('%s: closed with %i, the server carries on', async (name, code) => {
    const socket = await greetedRunner();
    socket.write(frames[name]);
    expect((await socket.closeFrameReceived()).code).toBe(code);
    socket.sendClose();
    await socket.closed();
    await expectServerStillWorks();
  });

  it('a binary frame one byte over RUNNER_MAX_FRAME_BYTES is refused with 1009', async () => {
    const socket = await greetedRunner();
    socket.sendFrame({ opcode: OPCODE.binary, payload: Buffer.alloc(RUNNER_MAX_FRAME_BYTES + 1) });
    expect((await socket.closed()).code).toBe(1009);
    await expectServerStillWorks();
  });
});

describe('a flood of messages on one widget socket', () => {
  it('is told rate_limited and closed with 4429 once over its budget, and no message after that is acted on', async () => {
    const shop = await server.createTenant({ name: 'Flood', origins: [ORIGIN] });
    const socket = await RawWebSocket.connect(socketUrl(server.url, REALTIME_PATH, { key: shop.publishableKey }), {
      headers: { Origin: ORIGIN },
    });
    socket.sendJson({ type: 'hello', v: REALTIME_PROTOCOL_VERSION });
    await socket.receive('welcome');
    // A thousand distinct generates in one write: each would create a job.
    const flood = Array.from({ length: 1000 }, (_, i) =>
      encodeFrame({
        opcode: OPCODE.text,
        payload: JSON.stringify({ type: 'generate', ref: `f${i}`, params: { prompt: 'a lamp' } }),
      }),
    );
    const written = performance.now();
    socket.write(Buffer.concat(flood));

    expect(await socket.closeFrameReceived()).toEqual({ code: REALTIME_CLOSE.tooManyConnections, reason: 'too many messages' });
    // The server read the flood within this time, and its budget refills while it reads
    // (a slow, loaded machine reads the 1000 frames over many refill periods).
    const readWithinSeconds = (performance.now() - written) / 1000;
    expect(socket.messages).toContainEqual({
      type: 'error',
      code: 'rate_limited',
      message: expect.any(String),
      retryAfter: expect.any(Number),
    });
    socket.sendClose();
    await socket.closed();

    // The hello took one message of the burst; the rest of it, and what refilled while the
    // server read, went through. Creating them is slow on a loaded machine: wait for it.
    const jobs = () =>
      runAsSystem('test: count jobs', () => server.database.models.Generation.countDocuments({ tenantId: shop.tenantId }));
    const least = WIDGET_MESSAGE_BUDGET.burst - 1;
    const most = least + Math.ceil(readWithinSeconds * WIDGET_MESSAGE_BUDGET.perSecond);
    await vi.waitFor(async () => expect(await jobs()).toBeGreaterThanOrEqual(least), { timeout: 60_000, interval: 50 });
    await cancelActiveJobs(server);
    await expectServerStillWorks();
    // A whole generation through the same database came after the flood; what arrived is
    // what the budget let through, not the thousand.
    const created = await jobs();
    expect(created).toBeGreaterThanOrEqual(least);
    expect(created, `the server read the flood within ${readWithinSeconds.toFixed(2)} s`).toBeLessThanOrEqual(most);
  }, 90_000);
});

describe('shutdown', () => {
  // ws waits 30 s for a peer to answer its close frame; the limit on this test is what
  // fails it if the server waits for these peers instead of dropping them.
  it('is not held up by peers that never answer a close frame', async () => {
    const doomed = await startTestServer();
    const shop = await doomed.createTenant({ origins: [ORIGIN] });
    const token = await doomed.createRunnerToken();
    const refused = await RawWebSocket.connect(socketUrl(doomed.url, REALTIME_PATH));
    expect((await refused.closeFrameReceived()).code).toBe(REALTIME_CLOSE.unauthorized);
    const widget = await RawWebSocket.connect(socketUrl(doomed.url, REALTIME_PATH, { key: shop.publishableKey }), {
      headers: { Origin: ORIGIN },
    });
    widget.sendJson({ type: 'hello', v: REALTIME_PROTOCOL_VERSION });
    await widget.receive('welcome');
    const runner = await RawWebSocket.connect(socketUrl(doomed.url, RUNNER_PATH), {
      headers: { Authorization: `Bearer ${token}` },
    });
    runner.sendJson({
      type: 'hello',
      v: RUNNER_PROTOCOL_VERSION,
      name: 'mute',
      device: 'cpu',
      model: 'tiny',
      maxPixels: 1024 * 1024,
    });
    await runner.receive('welcome');

    await doomed.stop();
    expect(await widget.closed()).toEqual({ code: REALTIME_CLOSE.goingAway, reason: 'server shutting down' });
    expect(await runner.closed()).toEqual({ code: RUNNER_CLOSE.goingAway, reason: 'server shutting down' });
    expect((await refused.closed()).code).toBe(REALTIME_CLOSE.unauthorized);
  }, 20_000);
});
