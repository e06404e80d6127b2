import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  REALTIME_PROTOCOL_VERSION,
  type GenerationBody,
  type GenerationParams,
  type PublicImage,
  type ServerMessage,
  type ShopperSessionBody,
} from '@atelier/protocol';
import {
  expectProblem,
  openWidgetSocket,
  startRunnerProcess,
  startTestServer,
  uploadRgba,
  type RunnerProcess,
  type TestServer,
  type WidgetProbe,
} from '@atelier/testing';
import { runWithTenant } from '../tenancy/tenant-context.js';

/**
 * Vary and upscale of an earlier result (issue 9's result actions, issue 8's image modes):
 * `inputImageId` names an image of one of the asker's own generations, over REST and the
 * widget socket alike, against the real server and a real runner process on the tiny model.
 */
const ORIGIN = 'https://shop.test';
type Tenant = { tenantId: string; secretKey: string; publishableKey: string };

let server: TestServer;
let runner: RunnerProcess;
let acme: Tenant;
let globex: Tenant;
const sockets: WidgetProbe[] = [];

beforeAll(async () => {
  // Polling job views from one address for minutes would meet the per-address REST limit.
  server = await startTestServer({ ATELIER_RPM_PER_ADDRESS: '100000' });
  // Enterprise: its request rate leaves room for polling job views.
  acme = await server.createTenant({ name: 'Acme', plan: 'enterprise', origins: [ORIGIN] });
  globex = await server.createTenant({ name: 'Globex', origins: [ORIGIN] });
  runner = await startRunnerProcess({ serverUrl: server.url, token: await server.createRunnerToken(), name: 'results' });
  await runner.logged((line) => line.msg === 'connected to server', 120_000);
}, 180_000);

afterEach(async () => {
  await Promise.all(sockets.splice(0).map((socket) => socket.close()));
});

afterAll(async () => {
  await runner?.stop();
  await server?.stop();
});

const TEXT: GenerationParams = { prompt: 'a walnut desk lamp', performance: 'lightning', aspectRatio: '1024x1024' };

async function view(tenant: Tenant, id: string): Promise<GenerationBody> {
  return (await (await server.api(tenant.secretKey, `/v1/generations/${id}`)).json()) as GenerationBody;
}

function finished(tenant: Tenant, id: string): Promise<GenerationBody> {
  return vi.waitFor(
    async () => {
      const current = await view(tenant, id);
      if (['queued', 'running'].includes(current.status)) throw new Error(`${id} is ${current.status}`);
      return current;
    },
    { timeout: 90_000, interval: 250 },
  );
}

async function createOverRest(tenant: Tenant, body: GenerationParams): Promise<Response> {
  return server.api(tenant.secretKey, '/v1/generations', { body });
}

async function generated(tenant: Tenant, body: GenerationParams): Promise<GenerationBody> {
  const response = await createOverRest(tenant, body);
  expect(response.status).toBe(202);
  const done = await finished(tenant, ((await response.json()) as { id: string }).id);
  expect(done.error).toBeNull();
  expect(done.status).toBe('succeeded');
  return done;
}

async function mint(tenant: Tenant, shopperId: string): Promise<string> {
  const response = await server.api(tenant.secretKey, '/v1/sessions', { body: { shopperId } });
  expect(response.status).toBe(201);
  return ((await response.json()) as ShopperSessionBody).token;
}

/**
 * A widget socket said hello on: as a verified shopper with a token, else anonymous, with
 * a browser id of its own (an anonymous browser's generate limit is per id) or `browser`.
 */
async function widget(
  tenant: Tenant,
  shopper?: string,
  browser = `browser-${String(sockets.length).padStart(12, '0')}`,
): Promise<WidgetProbe> {
  const probe = await openWidgetSocket(server.url, tenant.publishableKey, ORIGIN);
  sockets.push(probe);
  probe.send({ type: 'hello', v: REALTIME_PROTOCOL_VERSION, ...(shopper ? { shopper } : { browser }) });
  await probe.receive('welcome');
  return probe;
}

/** Sends `generate` and answers the job's completed images, or the error the request got. */
async function generateOnSocket(
  probe: WidgetProbe,
  ref: string,
  params: GenerationParams,
): Promise<{ error?: ServerMessage; id?: string; images?: PublicImage[] }> {
  probe.send({ type: 'generate', ref, params });
  const answer = await vi.waitFor(
    () => {
      const found = probe.log.find((m) => (m.type === 'accepted' && m.ref === ref) || (m.type === 'error' && m.ref === ref));
      if (!found) throw new Error(`no answer to ${ref} yet`);
      return found;
    },
    { timeout: 15_000 },
  );
  if (answer.type === 'error') return { error: answer };
  const { id } = answer as Extract<ServerMessage, { type: 'accepted' }>;
  const completed = await probe.receive('completed', (m) => m.id === id, { timeoutMs: 90_000 });
  return { id, images: completed.images };
}

const jobsOf = (tenant: Tenant) =>
  runWithTenant(tenant.tenantId, () => server.database.models.Generation.find().select({ _id: 1 }).lean());

describe('a result as the input of vary and upscale, over REST', () => {
  it('varies and upscales a result; the job reads the stored result as a signed, hashed input asset', async () => {
    const first = await generated(acme, TEXT);
    const result = first.images[0]!;
    expect(result).toMatchObject({ width: 1024, height: 1024 });

    const vary = await generated(acme, {
      prompt: TEXT.prompt,
      mode: 'vary-subtle',
      performance: 'lightning',
      inputImageId: result.id,
    });
    expect(vary.images[0]).toMatchObject({ width: 1024, height: 1024 });
    const stored = await runWithTenant(acme.tenantId, () => server.database.models.Generation.findById(vary.id).lean());
    const source = await runWithTenant(acme.tenantId, () => server.database.models.Generation.findById(first.id).lean());
    const bytes = await readFile(join(server.dataDir, 'files', source!.images[0]!.storageKey));
    expect(stored!.assets).toEqual([
      { kind: 'input', id: result.id, sha256: createHash('sha256').update(bytes).digest('hex'), bytes: bytes.length },
    ]);
    // The runner fetched those very bytes and made something new of them.
    expect(vary.images[0]!.id).not.toBe(result.id);

    const upscale = await generated(acme, {
      prompt: TEXT.prompt,
      mode: 'upscale',
      upscaleFactor: 1.5,
      performance: 'lightning',
      inputImageId: vary.images[0]!.id,
    });
    expect(upscale.images[0]).toMatchObject({ width: 1536, height: 1536 });
    const upscaled = Buffer.from(await (await fetch(upscale.images[0]!.url)).arrayBuffer());
    expect(await sharp(upscaled).metadata()).toMatchObject({ width: 1536, height: 1536 });
  }, 180_000);

  it("answers another tenant's result and a made-up id as not_found, creating nothing", async () => {
    const mine = await generated(acme, TEXT);
    const before = await jobsOf(globex);
    for (const inputImageId of [mine.images[0]!.id, 'img_AAAAAAAAAAAAAAAAAAAA']) {
      const response = await createOverRest(globex, { prompt: 'x', mode: 'vary-strong', inputImageId });
      const problem = await expectProblem(response, 404, 'not_found');
      expect(problem.detail).toBe('The image named in inputImageId was not found.');
      expect(problem.detail).not.toContain(inputImageId);
    }
    expect(await jobsOf(globex)).toEqual(before);
  }, 120_000);
});

describe('a result as the input of vary and upscale, on the widget socket', () => {
  it("lets a shopper vary their own result; another shopper's and an anonymous widget get not_found", async () => {
    const alice = await widget(acme, await mint(acme, 'alice'));
    const made = await generateOnSocket(alice, 'a1', TEXT);
    const imageId = made.images![0]!.id;

    const vary = await generateOnSocket(alice, 'a2', { prompt: TEXT.prompt, mode: 'vary-strong', inputImageId: imageId });
    expect(vary.images?.[0]).toMatchObject({ width: 1024, height: 1024 });
    expect((await view(acme, vary.id!)).shopperId).toBe('alice');

    const jobs = await jobsOf(acme);
    const bob = await widget(acme, await mint(acme, 'bob'));
    const anonymous = await widget(acme);
    const other = await widget(globex);
    for (const probe of [bob, anonymous, other]) {
      const refused = await generateOnSocket(probe, 'x1', { prompt: 'x', mode: 'upscale', inputImageId: imageId });
      expect(refused.error).toEqual({
        type: 'error',
        ref: 'x1',
        code: 'not_found',
        message: 'The image named in inputImageId was not found.',
      });
    }
    expect(await jobsOf(acme)).toEqual(jobs);

    // The tenant's own backend may start from any of its shoppers' results.
    expect((await createOverRest(acme, { prompt: 'x', mode: 'vary-subtle', inputImageId: imageId })).status).toBe(202);
  }, 180_000);

  it('lets an anonymous widget start from its own results only: not from a stranger, a verified shopper or an upload', async () => {
    const browser = 'browser-anonymous-0001';
    const anonymous = await widget(acme, undefined, browser);
    const made = await generateOnSocket(anonymous, 'n1', TEXT);
    const upscale = await generateOnSocket(anonymous, 'n2', {
      prompt: TEXT.prompt,
      mode: 'upscale',
      upscaleFactor: 1.5,
      inputImageId: made.images![0]!.id,
    });
    expect(upscale.images?.[0]).toMatchObject({ width: 1536, height: 1536 });
    const imageId = made.images![0]!.id;
    const jobs = await jobsOf(acme);
    // A verified shopper's socket cannot name an anonymous result, nor another anonymous
    // browser (another session, another browser id): it is not theirs.
    const carol = await widget(acme, await mint(acme, 'carol'));
    const stranger = await widget(acme);
    for (const probe of [carol, stranger]) {
      const refused = await generateOnSocket(probe, 'c1', { prompt: 'x', mode: 'vary-subtle', inputImageId: imageId });
      expect(refused.error).toMatchObject({ code: 'not_found', message: 'The image named in inputImageId was not found.' });
    }
    expect(await jobsOf(acme)).toEqual(jobs);
    // A widget names no uploads, as input or as mask: they are the tenant's backend's.
    const upload = await uploadRgba(server, acme.secretKey, { width: 64, height: 64, rgba: Buffer.alloc(64 * 64 * 4, 128) });
    const later = await widget(acme, undefined, browser);
    for (const [ref, params] of [
      ['u1', { prompt: 'x', mode: 'vary-subtle', inputImageId: upload }],
      ['u2', { prompt: 'x', mode: 'background', inputImageId: imageId, maskImageId: upload }],
    ] as const) {
      const refused = await generateOnSocket(later, ref, params);
      expect(refused.error).toMatchObject({ code: 'not_found' });
      expect((refused.error as { message: string }).message).toBe(
        `The image named in ${'maskImageId' in params ? 'maskImageId' : 'inputImageId'} was not found.`,
      );
    }
    expect(await jobsOf(acme)).toEqual(jobs);
    expect((await createOverRest(acme, { prompt: 'x', mode: 'vary-subtle', inputImageId: upload })).status).toBe(202);
    // The same browser on a later visit (a new session, its browser id kept) may start from its result.
    later.send({ type: 'generate', ref: 'l1', params: { prompt: 'x', mode: 'vary-subtle', inputImageId: imageId } });
    await later.receive('accepted', (m) => m.ref === 'l1');
  }, 180_000);
});

describe('watching a finished job from a later session (recent results after a reload)', () => {
  it('answers a verified shopper with fresh image URLs, and another shopper with not_found', async () => {
    const first = await widget(acme, await mint(acme, 'dora'));
    const made = await generateOnSocket(first, 'd1', TEXT);
    await first.close();

    const later = await widget(acme, await mint(acme, 'dora'));
    later.send({ type: 'watch', id: made.id });
    const again = await later.receive('completed', (m) => m.id === made.id);
    expect(again.images.map((image) => image.id)).toEqual(made.images!.map((image) => image.id));
    expect((await fetch(again.images[0]!.url)).status).toBe(200);

    const stranger = await widget(acme, await mint(acme, 'eve'));
    stranger.send({ type: 'watch', id: made.id, ref: 'restore-1' });
    // The error carries the watch's ref, so a widget restoring several knows which one to drop.
    expect(await stranger.receive('error')).toEqual({
      type: 'error',
      ref: 'restore-1',
      code: 'not_found',
      message: 'The generation was not found.',
    });
  }, 120_000);

  it("takes an earlier anonymous session's token as proof only for an anonymous socket", async () => {
    const first = await openWidgetSocket(server.url, acme.publishableKey, ORIGIN);
    sockets.push(first);
    first.send({ type: 'hello', v: REALTIME_PROTOCOL_VERSION });
    const { session } = await first.receive('welcome');
    const made = await generateOnSocket(first, 'p1', TEXT);
    await first.close();

    const anonymous = await widget(acme);
    anonymous.send({ type: 'watch', id: made.id, session });
    expect((await anonymous.receive('completed', (m) => m.id === made.id)).images).toHaveLength(1);

    const verified = await widget(acme, await mint(acme, 'frank'));
    verified.send({ type: 'watch', id: made.id, session });
    expect(await verified.receive('error')).toMatchObject({ code: 'not_found' });
  }, 120_000);
});
