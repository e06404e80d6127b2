import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { REALTIME_CLOSE, REALTIME_PROTOCOL_VERSION } from '@atelier/protocol';
import { runAsSystem } from '../tenancy/tenant-context.js';
import {
  cancelActiveJobs,
  connectWidget,
  createGeneration,
  openWidgetSocket,
  readJob,
  startTestServer,
  type TestServer,
  type WidgetProbe,
} from '@atelier/testing';

const ACME_ORIGIN = 'https://acme.test';
const GLOBEX_ORIGIN = 'https://globex.test';

let server: TestServer;
let acme: { tenantId: string; secretKey: string; publishableKey: string };
let globex: { tenantId: string; secretKey: string; publishableKey: string };
const sockets: WidgetProbe[] = [];

beforeAll(async () => {
  server = await startTestServer();
  acme = await server.createTenant({ name: 'Acme', origins: [ACME_ORIGIN] });
  globex = await server.createTenant({ name: 'Globex', origins: [GLOBEX_ORIGIN] });
});

afterEach(async () => {
  await Promise.all(sockets.splice(0).map((socket) => socket.close()));
  await cancelActiveJobs(server);
});

afterAll(() => server.stop());

const countJobs = () => runAsSystem('test: count jobs', () => server.database.models.Generation.countDocuments());

async function open(key: string, origin: string | undefined): Promise<WidgetProbe> {
  const probe = await openWidgetSocket(server.url, key, origin);
  sockets.push(probe);
  return probe;
}

async function connect(tenant: typeof acme, origin: string, resume?: { session: string; lastSeq: number }) {
  const connected = await connectWidget(server.url, tenant.publishableKey, origin, resume);
  sockets.push(connected.widget);
  return connected;
}

async function generate(widget: WidgetProbe, ref: string, params: unknown = { prompt: 'a walnut desk lamp' }) {
  widget.send({ type: 'generate', ref, params });
  const accepted = await widget.receive('accepted', (message) => message.ref === ref);
  const queued = await widget.receive('queued', (message) => message.id === accepted.id);
  return { accepted, queued };
}

describe('widget socket handshake', () => {
  it.each([
    ['an unknown publishable key', () => `pk_test_${'A'.repeat(43)}`, ACME_ORIGIN],
    ['a secret key', () => acme.secretKey, ACME_ORIGIN],
    ['an origin the tenant did not allow', () => acme.publishableKey, 'https://evil.test'],
    ["another tenant's origin", () => acme.publishableKey, GLOBEX_ORIGIN],
    ['no Origin at all', () => acme.publishableKey, undefined],
  ])('refuses %s with an error, then close 4401, and creates nothing', async (_label, key, origin) => {
    const before = await countJobs();
    const widget = await open(key(), origin);
    // Whatever the page says before the refusal arrives is not read.
    widget.send({ type: 'hello', v: REALTIME_PROTOCOL_VERSION });
    widget.send({ type: 'generate', ref: 'r1', params: { prompt: 'a lamp' } });
    expect((await widget.closed()).code).toBe(REALTIME_CLOSE.unauthorized);
    expect(widget.log).toEqual([{ type: 'error', code: 'unauthorized', message: expect.any(String) }]);
    expect(await countJobs()).toBe(before);
  });

  it('welcomes a widget that says hello with a session and its config', async () => {
    const { welcome } = await connect(acme, ACME_ORIGIN);
    expect(welcome.resume).toBe(false);
    expect(welcome.session.length).toBeGreaterThan(20);
    expect(welcome.config).toMatchObject({ tenantName: 'Acme', defaultAspectRatio: '1024x1024' });
  });

  it("offers the shopper the tenant's styles, its default ones and the plan's image limit", async () => {
    const patch = { styles: { allowed: ['Studio White', 'Studio Pastel'], default: ['Studio Pastel'] } };
    const put = await server.api(globex.secretKey, '/v1/config', { method: 'PUT', body: patch });
    expect(put.status, await put.text()).toBe(200);
    const { welcome } = await connect(globex, GLOBEX_ORIGIN);
    expect(welcome.config).toMatchObject({
      styles: ['Studio White', 'Studio Pastel'],
      defaultStyles: ['Studio Pastel'],
      maxImages: 4, // the Pro plan's
    });
  });

  it('answers anything before hello with an error and creates nothing', async () => {
    const before = await countJobs();
    const widget = await open(acme.publishableKey, ACME_ORIGIN);
    widget.send({ type: 'generate', ref: 'early', params: { prompt: 'a lamp' } });
    expect(await widget.receive('error')).toMatchObject({ code: 'invalid_request' });
    widget.send({ type: 'watch', id: 'gen_AAAAAAAAAAAAAAAAAAAA' });
    expect(await widget.receive('error')).toMatchObject({ code: 'invalid_request' });
    expect(widget.isOpen).toBe(true);
    expect(widget.received('accepted')).toEqual([]);
    expect(await countJobs()).toBe(before);
  });

  it('refuses another protocol version, saying so, and closes with 4400', async () => {
    const widget = await open(acme.publishableKey, ACME_ORIGIN);
    widget.send({ type: 'hello', v: REALTIME_PROTOCOL_VERSION + 1 });
    expect(await widget.receive('error')).toMatchObject({ code: 'unsupported_version' });
    expect((await widget.closed()).code).toBe(REALTIME_CLOSE.protocolError);
    expect(widget.received('welcome')).toEqual([]);
  });
});

describe('generate, watch and cancel', () => {
  it.each([
    ['an empty prompt', { prompt: '  ' }],
    ['an untrained resolution', { prompt: 'lamp', aspectRatio: '1000x1000' }],
    ['an unknown field', { prompt: 'lamp', negative_prompt: 'blur' }],
    ['no params at all', undefined],
  ])('answers %s with an error carrying the same ref, and creates nothing', async (_label, params) => {
    const { widget } = await connect(acme, ACME_ORIGIN);
    const before = await countJobs();
    widget.send({ type: 'generate', ref: 'bad-1', params });
    expect(await widget.receive('error')).toMatchObject({ ref: 'bad-1', code: 'invalid_request' });
    expect(widget.received('accepted')).toEqual([]);
    expect(await countJobs()).toBe(before);
  });

  it('accepts a valid request (same ref), then says it is queued with no runner to run it', async () => {
    const { widget } = await connect(acme, ACME_ORIGIN);
    const { accepted, queued } = await generate(widget, 'ref-42', { prompt: 'a walnut desk lamp', imageCount: 2 });
    expect(accepted).toMatchObject({ ref: 'ref-42', id: expect.stringMatching(/^gen_/), cost: { credits: 2 } });
    expect(queued).toMatchObject({ id: accepted.id, runners: 0, etaSeconds: null });
    expect(queued.position).toBeGreaterThanOrEqual(1);
    expect(queued.seq).toBeGreaterThan(accepted.seq);
    expect(await readJob(server, accepted.id)).toMatchObject({ tenantId: acme.tenantId, status: 'queued', source: 'widget' });
  });

  it("answers not_found for another tenant's generation, and for one that does not exist", async () => {
    const theirs = await createGeneration(server, globex.secretKey, { prompt: 'globex lamp' });
    const { widget } = await connect(acme, ACME_ORIGIN);
    widget.send({ type: 'watch', id: theirs });
    expect(await widget.receive('error')).toMatchObject({ code: 'not_found' });
    widget.send({ type: 'cancel', id: theirs });
    expect(await widget.receive('error')).toMatchObject({ code: 'not_found' });
    widget.send({ type: 'watch', id: 'gen_AAAAAAAAAAAAAAAAAAAA' });
    expect(await widget.receive('error')).toMatchObject({ code: 'not_found' });
    expect(widget.received('queued')).toEqual([]);
    expect((await readJob(server, theirs)).status).toBe('queued');
  });

  it("watches and cancels its session's own generations, and no other shopper's", async () => {
    const other = await connect(acme, ACME_ORIGIN);
    const { accepted: theirs } = await generate(other.widget, 'other-1', { prompt: 'another shopper' });
    const apiJob = await createGeneration(server, acme.secretKey, { prompt: 'api lamp' });
    const { widget } = await connect(acme, ACME_ORIGIN);
    for (const id of [theirs.id, apiJob]) {
      widget.send({ type: 'watch', id });
      expect(await widget.receive('error')).toMatchObject({ code: 'not_found' });
      widget.send({ type: 'cancel', id });
      expect(await widget.receive('error')).toMatchObject({ code: 'not_found' });
    }
    expect(widget.received('queued')).toEqual([]);
    expect((await readJob(server, theirs.id)).status).toBe('queued');
    expect((await readJob(server, apiJob)).status).toBe('queued');

    const { accepted: mine } = await generate(widget, 'mine-1', { prompt: 'my lamp' });
    widget.send({ type: 'watch', id: mine.id });
    expect(await widget.receive('queued')).toMatchObject({ id: mine.id });
    widget.send({ type: 'cancel', id: mine.id });
    expect(await widget.receive('failed')).toMatchObject({ id: mine.id, code: 'canceled' });
    expect((await readJob(server, mine.id)).status).toBe('canceled');
  });
});

describe('resuming a session', () => {
  it('resumes with the session token: welcome says so and brings the state of its jobs', async () => {
    const first = await connect(acme, ACME_ORIGIN);
    const { accepted, queued } = await generate(first.widget, 'r1');
    await first.widget.close();

    const second = await connect(acme, ACME_ORIGIN, { session: first.welcome.session, lastSeq: queued.seq });
    expect(second.welcome.resume).toBe(true);
    const snapshot = await second.widget.receive('queued', (message) => message.id === accepted.id);
    expect(snapshot.seq).toBeGreaterThan(queued.seq);

    // And it is watching again: what happens to the job now reaches the new socket.
    const cancel = await server.api(acme.secretKey, `/v1/generations/${accepted.id}/cancel`, { method: 'POST' });
    expect(cancel.status).toBe(200);
    expect(await second.widget.receive('failed', (message) => message.id === accepted.id)).toMatchObject({ code: 'canceled' });
  });

  it("does not resume another tenant's session, nor a tampered token", async () => {
    const theirs = await connect(globex, GLOBEX_ORIGIN);
    const { accepted } = await generate(theirs.widget, 'g1', { prompt: 'globex secret lamp' });

    const stolen = await connect(acme, ACME_ORIGIN, { session: theirs.welcome.session, lastSeq: 0 });
    expect(stolen.welcome.resume).toBe(false);
    expect(stolen.welcome.session).not.toBe(theirs.welcome.session);

    const [payload, signature] = theirs.welcome.session.split('.');
    const forged = `${Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(payload!, 'base64url').toString()), tenantId: acme.tenantId })).toString('base64url')}.${signature}`;
    const tampered = await connect(acme, ACME_ORIGIN, { session: forged, lastSeq: 0 });
    expect(tampered.welcome.resume).toBe(false);

    // Neither learnt anything about Globex's job. (A `watch` round trip orders the check after any snapshot.)
    for (const widget of [stolen.widget, tampered.widget]) {
      widget.send({ type: 'watch', id: accepted.id });
      await widget.receive('error');
      expect(widget.log.filter((message) => 'id' in message && message.id === accepted.id)).toEqual([]);
    }
  });
});
