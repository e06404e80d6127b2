import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import mongoose from 'mongoose';
import { SignJWT, decodeProtectedHeader, jwtVerify } from 'jose';
import {
  REALTIME_CLOSE,
  REALTIME_PATH,
  REALTIME_PROTOCOL_VERSION,
  SHOPPER_SESSION_AUDIENCE,
  SHOPPER_SESSION_ISSUER,
  socketUrl,
  type GenerationBody,
  type ServerMessage,
  type ShopperSessionBody,
} from '@atelier/protocol';
import { serverMessageSchema } from '@atelier/protocol/schemas';
import {
  SocketProbe,
  cancelActiveJobs,
  openWidgetSocket,
  startTestServer,
  type TestServer,
  type WidgetProbe,
} from '@atelier/testing';
import { runAsSystem } from '../tenancy/tenant-context.js';

const ACME_ORIGIN = 'https://acme.test';
const GLOBEX_ORIGIN = 'https://globex.test';

type Tenant = { tenantId: string; secretKey: string; publishableKey: string };

/** The server's clock (ServerOptions.now): tests move it instead of sleeping. */
let clock = Date.now();
let server: TestServer;
let acme: Tenant;
let globex: Tenant;
const sockets: WidgetProbe[] = [];

beforeAll(async () => {
  server = await startTestServer({}, { now: () => new Date(clock) });
  acme = await server.createTenant({ name: 'Acme', origins: [ACME_ORIGIN] });
  globex = await server.createTenant({ name: 'Globex', origins: [GLOBEX_ORIGIN] });
});

afterEach(async () => {
  await Promise.all(sockets.splice(0).map((socket) => socket.close()));
  await cancelActiveJobs(server);
});

afterAll(() => server.stop());

async function mint(tenant: Tenant, body: unknown = {}): Promise<ShopperSessionBody> {
  const response = await server.api(tenant.secretKey, '/v1/sessions', { body });
  if (response.status !== 201) throw new Error(`mint: ${response.status} ${await response.text()}`);
  return (await response.json()) as ShopperSessionBody;
}

/** The signing keys as stored, read straight from the database: the test's own check does not ask the server. */
async function signingKeys(): Promise<Map<string, Uint8Array>> {
  const stored = await runAsSystem('test: signing keys', () =>
    server.database.models.PlatformSecret.find({
      _id: mongoose.trusted({ $gte: 'shopper-session-key:', $lt: 'shopper-session-key:~' }),
    }).lean(),
  );
  return new Map(stored.map((s) => [s._id.slice('shopper-session-key:'.length), Buffer.from(s.value, 'base64url')]));
}

async function widget(tenant: Tenant, origin: string, query: Record<string, string> = {}): Promise<WidgetProbe> {
  const probe =
    Object.keys(query).length === 0
      ? await openWidgetSocket(server.url, tenant.publishableKey, origin)
      : await SocketProbe.open<ServerMessage>(
          socketUrl(server.url, REALTIME_PATH, { key: tenant.publishableKey, ...query }),
          { Origin: origin },
          serverMessageSchema,
        );
  sockets.push(probe);
  return probe;
}

async function generate(probe: WidgetProbe, ref: string): Promise<string> {
  probe.send({ type: 'generate', ref, params: { prompt: 'a walnut desk lamp' } });
  return (await probe.receive('accepted', (m) => m.ref === ref)).id;
}

async function view(tenant: Tenant, id: string): Promise<GenerationBody> {
  return (await (await server.api(tenant.secretKey, `/v1/generations/${id}`)).json()) as GenerationBody;
}

const countJobs = () => runAsSystem('test: count jobs', () => server.database.models.Generation.countDocuments());

/** A refused shopper session: one `error {code: unauthorized}`, then close 4401, and nothing created. */
async function expectRefused(probe: WidgetProbe, messageContains: string, { afterWelcome = false } = {}): Promise<void> {
  expect((await probe.closed()).code).toBe(REALTIME_CLOSE.unauthorized);
  expect(probe.log).toEqual([
    ...(afterWelcome ? [expect.objectContaining({ type: 'welcome' })] : []),
    { type: 'error', code: 'unauthorized', message: expect.stringContaining(messageContains) },
  ]);
}

describe('POST /v1/sessions', () => {
  it('mints a JWT that an independent check accepts: kid, alg, iss, aud, sub, tid, quota, exp', async () => {
    const session = await mint(acme, { shopperId: 'cust-42', expiresInSeconds: 600, quota: { generationsPerDay: 5 } });
    expect(session.shopperId).toBe('cust-42');
    expect(session.expiresAt).toBe(new Date(Math.floor(clock / 1000) * 1000 + 600_000).toISOString());

    const header = decodeProtectedHeader(session.token);
    expect(header).toMatchObject({ alg: 'HS256', typ: 'JWT' });
    const secret = (await signingKeys()).get(header.kid!);
    expect(secret).toBeDefined();
    const { payload } = await jwtVerify(session.token, secret!, {
      algorithms: ['HS256'],
      issuer: SHOPPER_SESSION_ISSUER,
      audience: SHOPPER_SESSION_AUDIENCE,
      currentDate: new Date(clock),
    });
    expect(payload).toMatchObject({
      iss: 'atelier',
      aud: 'atelier:realtime',
      sub: 'cust-42',
      tid: acme.tenantId,
      quota: { generationsPerDay: 5 },
    });
    expect(payload.exp! - payload.iat!).toBe(600);
    expect(new Date(payload.exp! * 1000).toISOString()).toBe(session.expiresAt);
  });

  it('defaults to a generated shopper id and one hour, and refuses bad input naming the field', async () => {
    const session = await mint(acme);
    expect(session.shopperId).toMatch(/^shp_/);
    const { exp, iat, quota } = (
      await jwtVerify(session.token, (await signingKeys()).get(decodeProtectedHeader(session.token).kid!)!, {
        currentDate: new Date(clock),
      })
    ).payload;
    expect(exp! - iat!).toBe(3600);
    expect(quota).toBeUndefined();

    for (const [body, field] of [
      [{ expiresInSeconds: 86_401 }, 'expiresInSeconds must be at most 86400'],
      [{ expiresInSeconds: 59 }, 'expiresInSeconds must be at least 60'],
      [{ shopperId: 'has spaces' }, 'shopperId'],
      [{ shopperId: { $ne: '' } }, 'shopperId.$ne: operator keys'],
      [{ quota: { perHour: 1 } }, 'perHour'],
      [{ tenantId: globex.tenantId }, 'tenantId'],
    ] as const) {
      const response = await server.api(acme.secretKey, '/v1/sessions', { body });
      expect(response.status).toBe(400);
      expect(((await response.json()) as { detail: string }).detail).toContain(field);
    }
  });
});

describe('shopper sessions on the widget socket', () => {
  it('binds the socket to the shopper: the jobs it creates carry that shopperId through REST', async () => {
    const session = await mint(acme, { shopperId: 'cust-7' });
    const probe = await widget(acme, ACME_ORIGIN);
    probe.send({ type: 'hello', v: REALTIME_PROTOCOL_VERSION, shopper: session.token });
    await probe.receive('welcome');
    const id = await generate(probe, 'r1');
    expect((await view(acme, id)).shopperId).toBe('cust-7');
    const stored = await runAsSystem('test: job', () => server.database.models.Generation.findById(id).lean());
    expect(stored).toMatchObject({ shopperId: 'cust-7', browserId: null });
  });

  it('takes the shopper session from the handshake URL too (&session=, as CONTRACT.md names it)', async () => {
    const session = await mint(acme, { shopperId: 'cust-url' });
    const probe = await widget(acme, ACME_ORIGIN, { session: session.token });
    probe.send({ type: 'hello', v: REALTIME_PROTOCOL_VERSION });
    await probe.receive('welcome');
    expect((await view(acme, await generate(probe, 'r1'))).shopperId).toBe('cust-url');

    const other = await mint(acme, { shopperId: 'cust-other' });
    const both = await widget(acme, ACME_ORIGIN, { session: session.token });
    both.send({ type: 'hello', v: REALTIME_PROTOCOL_VERSION, shopper: other.token });
    await expectRefused(both, 'Two different shopper sessions');
  });

  it('identifies an anonymous shopper by the browser id it sends (unverified), with no shopperId', async () => {
    const probe = await widget(acme, ACME_ORIGIN);
    probe.send({ type: 'hello', v: REALTIME_PROTOCOL_VERSION, browser: 'browser-0123456789' });
    await probe.receive('welcome');
    const id = await generate(probe, 'r1');
    expect((await view(acme, id)).shopperId).toBeNull();
    const stored = await runAsSystem('test: job', () => server.database.models.Generation.findById(id).lean());
    expect(stored).toMatchObject({ shopperId: null, browserId: 'browser-0123456789' });

    const bad = await widget(acme, ACME_ORIGIN);
    bad.send({ type: 'hello', v: REALTIME_PROTOCOL_VERSION, browser: 'x' });
    expect(await bad.receive('error')).toMatchObject({ code: 'invalid_request', message: expect.stringContaining('browser') });
  });

  it.each([
    ['a tampered payload', (token: string) => tamper(token, 1), 'not valid'],
    ['a tampered signature', (token: string) => tamper(token, 2), 'not valid'],
    ['no token at all, just text', () => 'not-a-jwt', 'not valid'],
  ])('refuses %s with unauthorized and close 4401, and creates nothing', async (_label, forge, says) => {
    const session = await mint(acme, { shopperId: 'cust-9' });
    const before = await countJobs();
    const probe = await widget(acme, ACME_ORIGIN);
    probe.send({ type: 'hello', v: REALTIME_PROTOCOL_VERSION, shopper: forge(session.token) });
    probe.send({ type: 'generate', ref: 'r1', params: { prompt: 'a lamp' } });
    await expectRefused(probe, says);
    expect(await countJobs()).toBe(before);
  });

  it("refuses another tenant's shopper session on this tenant's socket", async () => {
    const globexSession = await mint(globex, { shopperId: 'cust-1' });
    const probe = await widget(acme, ACME_ORIGIN);
    probe.send({ type: 'hello', v: REALTIME_PROTOCOL_VERSION, shopper: globexSession.token });
    await expectRefused(probe, 'not valid for this shop');
  });

  it('refuses a token signed with the real key but for another audience, or with an unknown kid', async () => {
    const keys = await signingKeys();
    const [kid, secret] = [...keys.entries()].sort(([a], [b]) => b.localeCompare(a))[0]!;
    const sign = (audience: string, keyId: string) =>
      new SignJWT({ tid: acme.tenantId })
        .setProtectedHeader({ alg: 'HS256', kid: keyId })
        .setIssuer(SHOPPER_SESSION_ISSUER)
        .setAudience(audience)
        .setSubject('cust-forged')
        .setIssuedAt(Math.floor(clock / 1000))
        .setExpirationTime(Math.floor(clock / 1000) + 600)
        .sign(secret);
    for (const token of [await sign('atelier:admin', kid), await sign(SHOPPER_SESSION_AUDIENCE, '999999')]) {
      const probe = await widget(acme, ACME_ORIGIN);
      probe.send({ type: 'hello', v: REALTIME_PROTOCOL_VERSION, shopper: token });
      await expectRefused(probe, 'not valid');
    }
    // The same construction with the right audience and kid is accepted: the refusals above are the claims'.
    const probe = await widget(acme, ACME_ORIGIN);
    probe.send({ type: 'hello', v: REALTIME_PROTOCOL_VERSION, shopper: await sign(SHOPPER_SESSION_AUDIENCE, kid) });
    await probe.receive('welcome');
  });

  it('refuses an expired session at hello, and closes a socket whose session expires before it generates', async () => {
    const session = await mint(acme, { shopperId: 'cust-late', expiresInSeconds: 60 });
    const probe = await widget(acme, ACME_ORIGIN);
    probe.send({ type: 'hello', v: REALTIME_PROTOCOL_VERSION, shopper: session.token });
    await probe.receive('welcome');
    clock += 61_000;
    const before = await countJobs();
    probe.send({ type: 'generate', ref: 'r1', params: { prompt: 'a lamp' } });
    await expectRefused(probe, 'expired', { afterWelcome: true });
    expect(await countJobs()).toBe(before);

    const late = await widget(acme, ACME_ORIGIN);
    late.send({ type: 'hello', v: REALTIME_PROTOCOL_VERSION, shopper: session.token });
    await expectRefused(late, 'expired');
  });

  it('resumes a socket session only for the same shopper', async () => {
    const first = await mint(acme, { shopperId: 'cust-a' });
    const second = await mint(acme, { shopperId: 'cust-b' });
    const probe = await widget(acme, ACME_ORIGIN);
    probe.send({ type: 'hello', v: REALTIME_PROTOCOL_VERSION, shopper: first.token });
    const welcome = await probe.receive('welcome');
    await probe.close();

    const same = await widget(acme, ACME_ORIGIN);
    same.send({
      type: 'hello',
      v: REALTIME_PROTOCOL_VERSION,
      shopper: first.token,
      resume: { session: welcome.session, lastSeq: 0 },
    });
    expect((await same.receive('welcome')).resume).toBe(true);
    const switched = await widget(acme, ACME_ORIGIN);
    switched.send({
      type: 'hello',
      v: REALTIME_PROTOCOL_VERSION,
      shopper: second.token,
      resume: { session: welcome.session, lastSeq: 0 },
    });
    expect((await switched.receive('welcome')).resume).toBe(false);
  });

  it('keeps accepting sessions signed with the previous key after a rotation, not the one before', async () => {
    const old = await mint(acme, { shopperId: 'cust-r' });
    const rotate = async () => {
      const response = await server.admin('/admin/v1/session-keys/rotate', {});
      expect(response.status).toBe(201);
      return ((await response.json()) as { kid: string }).kid;
    };
    const accepted = async (token: string) => {
      const probe = await widget(acme, ACME_ORIGIN);
      probe.send({ type: 'hello', v: REALTIME_PROTOCOL_VERSION, shopper: token });
      const answer = await vi.waitFor(() => {
        const first = probe.log.find((m) => m.type === 'welcome' || m.type === 'error');
        if (!first) throw new Error('no answer to hello yet');
        return first;
      });
      return answer.type === 'welcome';
    };

    const kid = await rotate();
    expect(decodeProtectedHeader(old.token).kid).not.toBe(kid);
    const fresh = await mint(acme, { shopperId: 'cust-r' });
    expect(decodeProtectedHeader(fresh.token).kid).toBe(kid);
    expect(await accepted(old.token)).toBe(true);
    expect(await accepted(fresh.token)).toBe(true);

    await rotate();
    expect(await accepted(old.token)).toBe(false);
    expect(await accepted(fresh.token)).toBe(true);
  });
});

describe("a shopper session's daily quota", () => {
  /** A socket welcomed for `shopperId` with a fresh session carrying the daily quota. */
  async function quotaSocket(tenant: Tenant, origin: string, shopperId: string): Promise<WidgetProbe> {
    const probe = await widget(tenant, origin);
    const { token } = await mint(tenant, { shopperId, quota: { generationsPerDay: 2 } });
    probe.send({ type: 'hello', v: REALTIME_PROTOCOL_VERSION, shopper: token });
    await probe.receive('welcome');
    return probe;
  }

  it('counts per shopper and UTC day across sessions and sockets: past it, rate_limited with reason daily_quota and nothing created', async () => {
    await generate(await quotaSocket(acme, ACME_ORIGIN, 'cust-q'), 'q1');
    // A new session for the same shopper (another device) keeps the count.
    const second = await quotaSocket(acme, ACME_ORIGIN, 'cust-q');
    await generate(second, 'q2');
    const before = await countJobs();
    second.send({ type: 'generate', ref: 'q3', params: { prompt: 'a walnut desk lamp' } });
    const refused = await second.receive('error', (m) => m.ref === 'q3');
    expect(refused).toMatchObject({ code: 'rate_limited', reason: 'daily_quota' });
    expect(refused.retryAfter).toBeGreaterThan(0);
    expect(refused.retryAfter).toBeLessThanOrEqual(24 * 3600);
    expect(await countJobs()).toBe(before);
    // Another shopper of the same shop, and the same shopper id at another tenant, are not held by it.
    await generate(await quotaSocket(acme, ACME_ORIGIN, 'cust-q2'), 'q4');
    await generate(await quotaSocket(globex, GLOBEX_ORIGIN, 'cust-q'), 'q5');
  });
});

/** The token with one character of its `part` (1: payload, 2: signature) changed. */
function tamper(token: string, part: 1 | 2): string {
  const parts = token.split('.');
  const text = parts[part]!;
  const i = Math.floor(text.length / 2);
  parts[part] = text.slice(0, i) + (text[i] === 'A' ? 'B' : 'A') + text.slice(i + 1);
  return parts.join('.');
}
