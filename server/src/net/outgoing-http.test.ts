import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AddressPolicy } from './address-policy.js';
import { OutgoingHttp } from './outgoing-http.js';

/** A loopback receiver: `/big` answers 1 MiB, `/hang` never answers, `/moved` redirects to `/target`, the rest 204. */
let server: Server;
let port: number;
const seen: { path: string; headers: IncomingHttpHeaders }[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    seen.push({ path: req.url ?? '', headers: req.headers });
    req.resume();
    if (req.url === '/hang') return;
    if (req.url === '/big') return void res.end(Buffer.alloc(1024 * 1024, 'a'));
    if (req.url === '/moved') return void res.writeHead(302, { location: '/target' }).end();
    res.writeHead(204).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

const receiverOnly = () => new AddressPolicy([{ address: '127.0.0.1', prefix: 32, family: 'ipv4', port }]);

describe('OutgoingHttp', () => {
  it('connects to the address it checked, resolving the host once (no DNS rebinding between check and connection)', async () => {
    // A resolver that rebinds: the first answer is the allowed receiver, every later one
    // an address where nothing listens. A second lookup would fail the request.
    let lookups = 0;
    const outgoing = new OutgoingHttp({
      policy: receiverOnly(),
      resolve: () => {
        lookups += 1;
        return Promise.resolve([{ address: lookups === 1 ? '127.0.0.1' : '127.0.0.2', family: 4 }]);
      },
    });
    const answer = await outgoing.post(new URL(`http://rebinding.test:${port}/pinned`), '{}', {});
    expect(answer).toMatchObject({ statusCode: 204, error: null });
    expect(lookups).toBe(1);
    expect(seen.find((request) => request.path === '/pinned')?.headers.host).toBe(`rebinding.test:${port}`);
  });

  it('refuses a host any of whose addresses is refused, without connecting', async () => {
    const outgoing = new OutgoingHttp({
      policy: receiverOnly(),
      resolve: () =>
        Promise.resolve([
          { address: '127.0.0.1', family: 4 },
          { address: '169.254.169.254', family: 4 },
        ]),
    });
    const answer = await outgoing.post(new URL(`http://mixed.test:${port}/mixed`), '{}', {});
    expect(answer).toMatchObject({
      statusCode: null,
      error: expect.stringMatching(/^refused: mixed\.test resolves to 169\.254\.169\.254/),
    });
    expect(seen.some((request) => request.path === '/mixed')).toBe(false);
  });

  it('reads no more of an answer than its limit', async () => {
    const outgoing = new OutgoingHttp({ policy: receiverOnly(), limits: { maxResponseBytes: 1024 } });
    const answer = await outgoing.post(new URL(`http://127.0.0.1:${port}/big`), '{}', {});
    expect(answer.statusCode).toBe(200);
    expect(answer.body).toBe('a'.repeat(1024));
  });

  it('gives up on a receiver that does not answer in time', async () => {
    const outgoing = new OutgoingHttp({ policy: receiverOnly(), limits: { totalTimeoutMs: 200 } });
    const answer = await outgoing.post(new URL(`http://127.0.0.1:${port}/hang`), '{}', {});
    expect(answer).toMatchObject({ statusCode: null, error: 'no complete answer within 200 ms' });
    expect(answer.durationMs).toBeGreaterThanOrEqual(190);
  });

  it('does not follow redirects', async () => {
    const outgoing = new OutgoingHttp({ policy: receiverOnly() });
    expect(await outgoing.post(new URL(`http://127.0.0.1:${port}/moved`), '{}', {})).toMatchObject({
      statusCode: 302,
      error: null,
    });
    expect(seen.some((request) => request.path === '/target')).toBe(false);
  });

  it('refuses other schemes', async () => {
    const outgoing = new OutgoingHttp({ policy: receiverOnly() });
    expect(await outgoing.check(new URL('file:///etc/passwd'))).toEqual({ ok: false, reason: 'file: is not http or https' });
  });
});
