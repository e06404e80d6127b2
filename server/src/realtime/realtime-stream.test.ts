import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { REALTIME_CLOSE, REALTIME_MAX_FRAME_BYTES, REALTIME_PROTOCOL_VERSION, REALTIME_STREAM_PATH } from '@atelier/protocol';
import { openEventStream, startTestServer, type EventStream, type TestServer } from '@atelier/testing';
import { runAsSystem } from '../tenancy/tenant-context.js';

const ORIGIN = 'https://shop.test';

let server: TestServer;
let tenant: { tenantId: string; secretKey: string; publishableKey: string };
const streams: EventStream[] = [];

beforeAll(async () => {
  server = await startTestServer();
  tenant = await server.createTenant({ name: 'Acme', origins: [ORIGIN] });
});

afterEach(() => {
  for (const stream of streams.splice(0)) stream.abort();
});

afterAll(() => server.stop());

/** The realtime stream of `key` for a page at `origin`, closed after each test. */
async function openStream(key: string, origin: string | undefined, on: TestServer = server): Promise<EventStream> {
  const stream = await openEventStream(on.url, key, origin);
  streams.push(stream);
  return stream;
}

const hello = { type: 'hello', v: REALTIME_PROTOCOL_VERSION, browser: '0b0c2f3e-1111-4222-8333-944455556666' };

describe('the realtime protocol over HTTP (Server-Sent Events and POSTs)', () => {
  it('runs the same session: ready, hello → welcome, generate → accepted and queued, with CORS for the page', async () => {
    const stream = await openStream(tenant.publishableKey, ORIGIN);
    expect(stream.status).toBe(200);
    expect(stream.headers.get('content-type')).toMatch(/^text\/event-stream/);
    expect(stream.headers.get('access-control-allow-origin')).toBe(ORIGIN);
    expect(await stream.next('ready')).toEqual({ connection: expect.stringMatching(/^str_/) });

    const posted = await stream.post(hello);
    expect(posted.status).toBe(202);
    expect(posted.headers.get('access-control-allow-origin')).toBe(ORIGIN);
    expect(await stream.next('message', (m: { type: string }) => m.type === 'welcome')).toMatchObject({
      type: 'welcome',
      config: { tenantName: 'Acme' },
    });
    await stream.post({ type: 'generate', ref: 'r1', params: { prompt: 'a walnut desk lamp' } });
    const accepted = (await stream.next('message', (m: { type: string }) => m.type === 'accepted')) as { id: string };
    expect(
      await stream.next('message', (m: { type: string; id?: string }) => m.type === 'queued' && m.id === accepted.id),
    ).toBeTruthy();
    const job = await runAsSystem('test: the job', () => server.database.models.Generation.findById(accepted.id).lean());
    expect(job).toMatchObject({ tenantId: tenant.tenantId, status: 'queued' });
  });

  it.each([
    ['an origin the tenant did not allow', () => tenant.publishableKey, 'https://evil.test'],
    ['no origin', () => tenant.publishableKey, undefined],
    ['a key that is not one', () => 'pk_test_nope', ORIGIN],
  ])(
    'refuses %s as the socket does: an unauthorized error, then a close event with 4401, and the end',
    async (_label, key, origin) => {
      const stream = await openStream(key(), origin);
      expect(await stream.next('message')).toMatchObject({ type: 'error', code: 'unauthorized' });
      expect(await stream.next('close')).toEqual({ code: REALTIME_CLOSE.unauthorized, reason: 'unauthorized' });
      await vi.waitFor(() => expect(stream.ended).toBe(true));
    },
  );

  it('takes a message only from the page that opened the stream, and only for a stream that exists', async () => {
    const stream = await openStream(tenant.publishableKey, ORIGIN);
    expect((await stream.post(hello, { origin: 'https://evil.test' })).status).toBe(404);
    const unknown = await fetch(new URL(`${REALTIME_STREAM_PATH}/str_AAAAAAAAAAAAAAAAAAAA`, server.url), {
      method: 'POST',
      headers: { Origin: ORIGIN, 'Content-Type': 'text/plain' },
      body: JSON.stringify(hello),
    });
    expect(unknown.status).toBe(404);
    expect(stream.events.filter((e) => e.event === 'message')).toEqual([]);
  });

  it('answers a message that is not JSON as the socket does, and refuses a body over the frame limit', async () => {
    const stream = await openStream(tenant.publishableKey, ORIGIN);
    expect((await stream.post(null, { raw: 'x'.repeat(REALTIME_MAX_FRAME_BYTES + 1) })).status).toBe(413);
    const ready = (stream.events.find((e) => e.event === 'ready')!.data as { connection: string }).connection;
    const asJson = await fetch(new URL(`${REALTIME_STREAM_PATH}/${ready}`, server.url), {
      method: 'POST',
      headers: { Origin: ORIGIN, 'Content-Type': 'application/json' },
      body: JSON.stringify(hello),
    });
    expect(asJson.status).toBe(415);
    await stream.post(null, { raw: '{"type":' });
    expect(await stream.next('message')).toEqual({
      type: 'error',
      code: 'invalid_request',
      message: 'That message is not JSON.',
    });
    // Still open: a well-formed hello is welcomed.
    await stream.post(hello);
    expect(await stream.next('message', (m: { type: string }) => m.type === 'welcome')).toBeTruthy();
  });

  it('tells a flooding page to slow down and closes its stream with 4429', async () => {
    const stream = await openStream(tenant.publishableKey, ORIGIN);
    await stream.post(hello);
    await stream.next('message', (m: { type: string }) => m.type === 'welcome');
    const watch = { type: 'watch', id: 'gen_AAAAAAAAAAAAAAAAAAAA' };
    for (let i = 0; i < 80 && !stream.events.some((e) => e.event === 'close'); i += 1) await stream.post(watch);
    expect(await stream.next('message', (m: { code?: string }) => m.code === 'rate_limited')).toBeTruthy();
    expect(await stream.next('close')).toMatchObject({ code: REALTIME_CLOSE.tooManyConnections });
  });

  it('ends a stream whose page stops answering its pings, and keeps one that answers', async () => {
    const pinging = await startTestServer({ ATELIER_WIDGET_PING_MS: '300' });
    try {
      const shop = await pinging.createTenant({ name: 'Pinged', origins: [ORIGIN] });
      const [answering, silent] = [
        await openStream(shop.publishableKey, ORIGIN, pinging),
        await openStream(shop.publishableKey, ORIGIN, pinging),
      ];
      for (const stream of [answering, silent]) {
        expect((await stream.post(hello)).status).toBe(202);
        await stream.next('message', (m: { type: string }) => m.type === 'welcome');
      }
      // The answering page POSTs an empty body for each ping, as the widget does.
      for (let pings = 0; pings < 4; pings += 1) {
        await answering.next('ping');
        expect((await answering.post(undefined, { raw: '' })).status).toBe(202);
      }
      // Four ping periods on, the page that never answered is gone; the other is open.
      await vi.waitFor(() => expect(silent.ended).toBe(true), { timeout: 15_000 });
      expect(answering.ended).toBe(false);
      expect((await answering.post({ type: 'watch', id: 'gen_unknown' })).status).toBe(202);
    } finally {
      await pinging.stop();
    }
  });
});
