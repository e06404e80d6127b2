import type { ServerMessage } from '@atelier/protocol';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { WebSocket } from 'ws';
import { ScriptedRealtimeServer, TEST_CONFIG } from '../../test/scripted-realtime-server.js';
import { type ConnectionState, RealtimeClient, type RealtimeClientOptions } from './realtime-client.js';

const cleanups: (() => Promise<void> | void)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function startServer(port = 0): Promise<ScriptedRealtimeServer> {
  const server = await new ScriptedRealtimeServer(port).start();
  cleanups.push(() => server.stop());
  return server;
}

function startClient(server: string, options: Partial<RealtimeClientOptions> = {}) {
  const client = new RealtimeClient({ server, publishableKey: 'pk_test_abc', WebSocket, ...options });
  const states: ConnectionState[] = [];
  const messages: ServerMessage[] = [];
  client.on('state', (state) => states.push(state));
  client.on('message', (message) => messages.push(message));
  cleanups.push(() => client.close());
  return { client, states, messages };
}

/** Resolves on the first `state` that satisfies `check` (or at once if the current one does). */
function reach(client: RealtimeClient, check: (state: ConnectionState) => boolean, timeoutMs = 5000) {
  return new Promise<ConnectionState>((resolve, reject) => {
    if (check(client.state)) return resolve(client.state);
    const timer = setTimeout(() => reject(new Error(`state never matched; last: ${client.state.status}`)), timeoutMs);
    const off = client.on('state', (state) => {
      if (!check(state)) return;
      clearTimeout(timer);
      off();
      resolve(state);
    });
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits until `check` holds (vi.waitFor retries a callback until it stops throwing). */
function eventually(check: () => boolean): Promise<void> {
  return vi.waitFor(() => expect(check()).toBe(true), { timeout: 5000, interval: 5 });
}

describe('RealtimeClient', () => {
  it('says hello with the key, keeps the welcome and dispatches job events in order', async () => {
    const server = await startServer();
    const { client, messages } = startClient(server.url);
    const progress: number[] = [];
    client.on('progress', (message) => progress.push(message.step));

    client.connect();
    await reach(client, (state) => state.status === 'open');
    const [connection] = server.connections;
    expect(connection!.url.pathname).toBe('/v1/realtime');
    expect(connection!.url.searchParams.get('key')).toBe('pk_test_abc');
    expect(connection!.received).toEqual([{ type: 'hello', v: 1 }]);
    expect(client.session).toBe('sess-1');
    expect(client.config?.maxPromptLength).toBe(2000);

    const ref = client.generate({ prompt: 'a lamp on a walnut desk' });
    await server.until(() => connection!.received.length === 2);
    expect(connection!.received[1]).toEqual({ type: 'generate', ref, params: { prompt: 'a lamp on a walnut desk' } });

    const image = { id: 'img_1', url: '/v1/images/img_1/content', width: 1024, height: 1024, format: 'png' as const };
    connection!.send({ type: 'accepted', ref, id: 'job_1', seq: 1, cost: { credits: 1 } });
    connection!.send({ type: 'queued', id: 'job_1', seq: 2, position: 1, etaSeconds: 12, runners: 1 });
    connection!.send({ type: 'progress', id: 'job_1', seq: 3, step: 1, steps: 2, stage: 'sampling' });
    connection!.send({ type: 'progress', id: 'job_1', seq: 4, step: 2, steps: 2, stage: 'sampling' });
    connection!.send({ type: 'completed', id: 'job_1', seq: 5, images: [image] });
    await eventually(() => messages.length === 6);

    expect(messages.map((message) => message.type)).toEqual([
      'welcome',
      'accepted',
      'queued',
      'progress',
      'progress',
      'completed',
    ]);
    expect(progress).toEqual([1, 2]);
    expect(client.lastSeq).toBe(5);
  });

  it('holds requests made before the welcome and sends each once after it', async () => {
    const server = await startServer();
    const { client } = startClient(server.url);
    const ref = client.generate({ prompt: 'early' });

    client.connect();
    const connection = await server.until(() => server.connections[0]?.received.length === 2 && server.connections[0]);
    expect(connection.received).toEqual([
      { type: 'hello', v: 1 },
      { type: 'generate', ref, params: { prompt: 'early' } },
    ]);
    // A later message proves nothing else was sent in between.
    client.cancel('gen_later');
    await server.until(() => connection.received.length === 3);
    expect(connection.received[2]).toEqual({ type: 'cancel', id: 'gen_later' });
  });

  it('says who the shopper is in hello: the shopper session, or else the browser id, and again when it resumes', async () => {
    const server = await startServer();
    const shopper = startClient(server.url, { shopper: 'jwt.for.shopper', backoff: { initialMs: 10, maxMs: 10 } });
    shopper.client.connect();
    await reach(shopper.client, (state) => state.status === 'open');
    expect(server.connections[0]!.received).toEqual([{ type: 'hello', v: 1, shopper: 'jwt.for.shopper' }]);
    server.connections[0]!.socket.terminate();
    const again = await server.until(() => server.connections[1]?.received.length === 1 && server.connections[1]);
    expect(again.received).toEqual([
      { type: 'hello', v: 1, resume: { session: 'sess-1', lastSeq: 0 }, shopper: 'jwt.for.shopper' },
    ]);

    const anonymous = startClient(server.url, { browser: 'b-0123456789' });
    anonymous.client.connect();
    await reach(anonymous.client, (state) => state.status === 'open');
    expect(server.connections[2]!.received).toEqual([{ type: 'hello', v: 1, browser: 'b-0123456789' }]);
  });

  it('sends a generate again after a reconnect until it is answered, with the same ref', async () => {
    const server = await startServer();
    const { client } = startClient(server.url, { backoff: { initialMs: 10, maxMs: 10 } });
    client.connect();
    await reach(client, (state) => state.status === 'open');
    const ref = client.generate({ prompt: 'lost in transit' });
    const first = await server.until(() => server.connections[0]?.received.length === 2 && server.connections[0]);
    // The socket drops before the server answers.
    first.socket.terminate();
    const second = await server.until(() => server.connections[1]?.received.length === 2 && server.connections[1]);
    expect(second.received).toEqual([
      { type: 'hello', v: 1, resume: { session: 'sess-1', lastSeq: 0 } },
      { type: 'generate', ref, params: { prompt: 'lost in transit' } },
    ]);
    second.send({ type: 'accepted', ref, id: 'gen_1', seq: 1, cost: { credits: 1 } });
    await eventually(() => client.lastSeq === 1);

    // Answered now: the next reconnect does not send it a third time.
    second.socket.terminate();
    const third = await server.until(() => server.connections[2]?.received.length === 1 && server.connections[2]);
    client.cancel('gen_marker');
    await server.until(() => third.received.length === 2);
    expect(third.received.map((message) => message.type)).toEqual(['hello', 'cancel']);
  });

  it("takes a job event carrying a request's ref as its answer when the accepted was lost", async () => {
    const server = await startServer();
    const { client } = startClient(server.url, { backoff: { initialMs: 10, maxMs: 10 } });
    client.connect();
    await reach(client, (state) => state.status === 'open');
    const ref = client.generate({ prompt: 'lamp' });
    const first = await server.until(() => server.connections[0]?.received.length === 2 && server.connections[0]);
    // No `accepted` (lost on the way); the job's first event names the ref.
    first.send({ type: 'queued', id: 'gen_1', ref, seq: 2, position: 1, etaSeconds: null, runners: 0 });
    await eventually(() => client.lastSeq === 2);

    server.script = (connection, message) => {
      if (message.type === 'hello') connection.send({ type: 'welcome', session: 'sess-2', resume: false, config: TEST_CONFIG });
    };
    first.socket.terminate();
    const second = await server.until(() => server.connections[1]?.received.length === 2 && server.connections[1]);
    client.cancel('gen_marker');
    await server.until(() => second.received.length === 3);
    // Not asked for again (that would be a second job in the new session), but followed.
    expect(second.received.slice(1)).toEqual([
      { type: 'watch', id: 'gen_1', session: 'sess-1' },
      { type: 'cancel', id: 'gen_marker' },
    ]);
  });

  it('follows its jobs again with proof of the earlier session when the server could not resume it', async () => {
    const server = await startServer();
    const { client } = startClient(server.url, { backoff: { initialMs: 10, maxMs: 10 } });
    client.connect();
    await reach(client, (state) => state.status === 'open');
    const ref = client.generate({ prompt: 'lamp' });
    const first = await server.until(() => server.connections[0]?.received.length === 2 && server.connections[0]);
    first.send({ type: 'accepted', ref, id: 'gen_1', seq: 1, cost: { credits: 1 } });
    first.send({ type: 'accepted', ref: 'other', id: 'gen_2', seq: 2, cost: { credits: 1 } });
    first.send({ type: 'completed', id: 'gen_2', seq: 3, images: [] });
    await eventually(() => client.lastSeq === 3);

    server.script = (connection, message) => {
      if (message.type === 'hello') connection.send({ type: 'welcome', session: 'sess-2', resume: false, config: TEST_CONFIG });
    };
    first.socket.terminate();
    const second = await server.until(() => server.connections[1]?.received.length === 2 && server.connections[1]);
    // Only the unfinished job, and with the earlier session's token as proof.
    expect(second.received[1]).toEqual({ type: 'watch', id: 'gen_1', session: 'sess-1' });
  });

  it('watches remembered jobs with their proof and a ref, and stops following one the server refuses', async () => {
    const server = await startServer();
    const { client } = startClient(server.url, { backoff: { initialMs: 10, maxMs: 10 } });
    client.connect();
    await reach(client, (state) => state.status === 'open');
    const refused = client.watch('gen_old', 'sess-0');
    const kept = client.watch('gen_running', 'sess-0');
    expect(refused).not.toBe(kept);
    const first = await server.until(() => server.connections[0]?.received.length === 3 && server.connections[0]);
    expect(first.received.slice(1)).toEqual([
      { type: 'watch', id: 'gen_old', session: 'sess-0', ref: refused },
      { type: 'watch', id: 'gen_running', session: 'sess-0', ref: kept },
    ]);
    first.send({ type: 'error', ref: refused, code: 'not_found', message: 'The generation was not found.' });
    first.send({ type: 'queued', id: 'gen_running', seq: 1, position: 1, etaSeconds: null, runners: 1 });
    await eventually(() => client.lastSeq === 1);

    server.script = (connection, message) => {
      if (message.type === 'hello') connection.send({ type: 'welcome', session: 'sess-2', resume: false, config: TEST_CONFIG });
    };
    first.socket.terminate();
    const second = await server.until(() => server.connections[1]?.received.length === 2 && server.connections[1]);
    client.cancel('gen_marker');
    await server.until(() => second.received.length === 3);
    // The refused one is not asked for again; the one still queued is, with its own proof.
    expect(second.received.slice(1)).toEqual([
      { type: 'watch', id: 'gen_running', session: 'sess-0' },
      { type: 'cancel', id: 'gen_marker' },
    ]);
  });

  it('reconnects with growing backoff while the server is away, then resumes and skips replays', async () => {
    const first = await startServer();
    const port = first.port;
    const { client, states, messages } = startClient(first.url, {
      backoff: { initialMs: 40, maxMs: 1000 },
      random: () => 1, // the top of each jitter range: delays are exactly the ceiling
    });
    client.connect();
    await reach(client, (state) => state.status === 'open');
    const ref = client.generate({ prompt: 'lamp' });
    const connection = await first.until(() => first.connections[0]?.received.length === 2 && first.connections[0]);
    connection.send({ type: 'accepted', ref, id: 'job_1', seq: 1, cost: { credits: 1 } });
    connection.send({ type: 'queued', id: 'job_1', seq: 2, position: 3, etaSeconds: 40, runners: 1 });
    await eventually(() => client.lastSeq === 2);

    await first.stop();
    await reach(client, (state) => state.status === 'reconnecting' && state.attempt >= 3);
    const delays = states.flatMap((state) => (state.status === 'reconnecting' ? [state.delayMs] : []));
    expect(delays.slice(0, 3)).toEqual([40, 80, 160]);

    const second = await startServer(port);
    second.script = (conn, message) => {
      if (message.type !== 'hello') return;
      // Resumed under a freshly minted token (tokens are opaque), then an event the
      // client already saw (seq 2) and one it missed (seq 3).
      conn.send({ type: 'welcome', session: 'sess-1b', resume: true, config: TEST_CONFIG });
      conn.send({ type: 'queued', id: 'job_1', seq: 2, position: 3, etaSeconds: 40, runners: 1 });
      conn.send({ type: 'queued', id: 'job_1', seq: 3, position: 1, etaSeconds: 10, runners: 1 });
    };
    await reach(client, (state) => state.status === 'open');
    const resumed = await second.until(() => second.connections[0]?.received[0]);
    expect(resumed).toEqual({ type: 'hello', v: 1, resume: { session: 'sess-1', lastSeq: 2 } });

    await eventually(() => client.lastSeq === 3);
    const queued = messages.filter((message) => message.type === 'queued');
    expect(queued.map((message) => message.seq)).toEqual([2, 3]);
    expect(client.session).toBe('sess-1b');

    // A welcome resets the backoff: the next drop starts from the first delay again.
    await second.stop();
    const again = await reach(client, (state) => state.status === 'reconnecting');
    expect(again).toMatchObject({ attempt: 1, delayMs: 40 });
  });

  it('numbers events from scratch when the server starts a new session', async () => {
    const server = await startServer();
    const { client } = startClient(server.url, { backoff: { initialMs: 10, maxMs: 10 } });
    client.connect();
    await reach(client, (state) => state.status === 'open');
    server.connections[0]!.send({ type: 'queued', id: 'job_9', seq: 7, position: 1, etaSeconds: null, runners: 1 });
    await eventually(() => client.lastSeq === 7);

    server.script = (conn, message) => {
      if (message.type === 'hello') conn.send({ type: 'welcome', session: 'sess-2', resume: false, config: TEST_CONFIG });
    };
    server.connections[0]!.socket.terminate();
    await reach(client, (state) => state.status === 'reconnecting');
    await reach(client, (state) => state.status === 'open');
    expect(client.session).toBe('sess-2');
    expect(client.lastSeq).toBe(0);
  });

  it('stops for good when the server refuses the key (4401)', async () => {
    const server = await startServer();
    server.onConnection = (connection) => {
      // What the Atelier server does: explain, then close with 4401.
      connection.send({ type: 'error', code: 'unauthorized', message: 'This website is not allowed.' });
      connection.socket.close(4401, 'unauthorized');
    };
    const { client, messages } = startClient(server.url, { backoff: { initialMs: 10, maxMs: 10 } });
    client.generate({ prompt: 'never sent' });
    client.connect();

    const refused = await reach(client, (state) => state.status === 'refused');
    expect(refused).toEqual({ status: 'refused', code: 4401, reason: 'This website is not allowed.' });
    expect(messages).toEqual([]);
    await sleep(150);
    expect(server.connections).toHaveLength(1);
    expect(client.state.status).toBe('refused');
  });

  it("reports a refusal on an open socket once, as the refused state with the server's words (a key revoked meanwhile)", async () => {
    const server = await startServer();
    const { client, messages } = startClient(server.url, { backoff: { initialMs: 10, maxMs: 10 } });
    client.connect();
    await reach(client, (state) => state.status === 'open');
    const message = 'This studio is not configured correctly: the publishable key is not valid.';
    server.connections[0]!.send({ type: 'error', code: 'unauthorized', message });
    server.connections[0]!.socket.close(4401, 'unauthorized');

    expect(await reach(client, (state) => state.status === 'refused')).toEqual({
      status: 'refused',
      code: 4401,
      reason: message,
    });
    expect(messages.filter((received) => received.type === 'error')).toEqual([]);
    await sleep(100);
    expect(server.connections).toHaveLength(1);
  });

  it('drops a socket that never sends a welcome and tries again', async () => {
    const server = await startServer();
    server.script = () => undefined;
    const { client } = startClient(server.url, { welcomeTimeoutMs: 50, backoff: { initialMs: 10, maxMs: 10 } });
    client.connect();
    await reach(client, (state) => state.status === 'reconnecting');
    await server.until(() => server.connections.length >= 2);
  });

  it('stops reconnecting after close()', async () => {
    const server = await startServer();
    server.onConnection = (connection) => connection.socket.terminate();
    const { client } = startClient(server.url, { backoff: { initialMs: 20, maxMs: 20 } });
    client.connect();
    await reach(client, (state) => state.status === 'reconnecting');
    client.close();
    const seen = server.connections.length;
    await sleep(100);
    expect(server.connections.length).toBe(seen);
    expect(client.state.status).toBe('closed');
  });

  it('reports a server address it cannot use instead of retrying', () => {
    const { client } = startClient('not a url');
    client.connect();
    expect(client.state).toMatchObject({ status: 'invalid' });
  });
});
