import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { REALTIME_PROTOCOL_VERSION, type PublicImage, type ShopperSessionBody } from '@atelier/protocol';
import { newId } from '../../services/ids.js';
import {
  completeJob,
  connectRunner,
  createGeneration,
  openWidgetSocket,
  pngBytes,
  readJob,
  type RunnerProbe,
  startTestServer,
  type TestServer,
  viewGeneration,
} from '@atelier/testing';

interface Tenant {
  tenantId: string;
  secretKey: string;
  publishableKey: string;
  image: { id: string; url: string; bytes: Buffer };
}

const ACME_ORIGIN = 'https://acme.test';

let server: TestServer;
let runner: RunnerProbe;
let acme: Tenant;
let globex: Tenant;

/** A tenant with one succeeded generation of one real PNG, made through the runner protocol. */
async function tenantWithImage(name: string, red: number): Promise<Tenant> {
  const { tenantId, secretKey, publishableKey } = await server.createTenant({ name, origins: [ACME_ORIGIN] });
  const id = await createGeneration(server, secretKey, { prompt: `${name} lamp` });
  runner.send({ type: 'ready' });
  const job = await runner.receive('job', (message) => message.jobId === id);
  const bytes = await pngBytes(red);
  completeJob(runner, job, [bytes]);
  await vi.waitFor(async () => expect((await readJob(server, id)).status).toBe('succeeded'));
  const [image] = (await viewGeneration(server, secretKey, id)).images;
  return { tenantId, secretKey, publishableKey, image: { id: image!.id, url: image!.url, bytes } };
}

beforeAll(async () => {
  server = await startTestServer();
  runner = await connectRunner(server.url, await server.createRunnerToken());
  acme = await tenantWithImage('Acme', 200);
  globex = await tenantWithImage('Globex', 20);
});

afterAll(async () => {
  await runner.close();
  await server.stop();
});

async function expectProblem(response: Response, status: number, code: string): Promise<void> {
  expect(response.status).toBe(status);
  expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  expect(await response.json()).toMatchObject({ status, code });
}

/** Rewrites parts of a signed URL the way someone holding it could. */
function edit(url: string, change: { tenantId?: string; file?: string; expires?: string; signature?: string }): string {
  const parsed = new URL(url);
  const [, v1, files, tenantId, file] = parsed.pathname.split('/');
  parsed.pathname = ['', v1, files, change.tenantId ?? tenantId, change.file ?? file].join('/');
  if (change.expires !== undefined) parsed.searchParams.set('expires', change.expires);
  if (change.signature !== undefined) parsed.searchParams.set('signature', change.signature);
  return parsed.toString();
}

describe('GET /v1/files/:tenantId/:file', () => {
  it('serves the exact bytes to anyone holding a fresh signed URL', async () => {
    for (const tenant of [acme, globex]) {
      const response = await fetch(tenant.image.url);
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toBe('image/png');
      expect(response.headers.get('access-control-allow-origin')).toBe('*');
      expect(Buffer.from(await response.arrayBuffer()).equals(tenant.image.bytes)).toBe(true);
    }
  });

  it('answers a tampered signature as a file that does not exist (404)', async () => {
    const signature = new URL(acme.image.url).searchParams.get('signature')!;
    const flipped = `${signature.slice(0, -1)}${signature.endsWith('A') ? 'B' : 'A'}`;
    await expectProblem(await fetch(edit(acme.image.url, { signature: flipped })), 404, 'not_found');
    await expectProblem(await fetch(edit(acme.image.url, { signature: '' })), 404, 'not_found');
  });

  it('refuses an expired URL with 403, and answers a later expiry written into it with 404', async () => {
    const expired = server.services.signer.imageUrl(acme.tenantId, acme.image.id, 'png', Date.now() - 60 * 60 * 1000);
    await expectProblem(await fetch(expired), 403, 'forbidden');
    const expires = String(Math.floor(Date.now() / 1000) + 60 * 60);
    await expectProblem(await fetch(edit(expired, { expires })), 404, 'not_found');
  });

  it("answers a URL with another tenant's id swapped into the path with 404, expired or not", async () => {
    await expectProblem(await fetch(edit(acme.image.url, { tenantId: globex.tenantId })), 404, 'not_found');
    const expired = server.services.signer.imageUrl(acme.tenantId, acme.image.id, 'png', Date.now() - 60 * 60 * 1000);
    await expectProblem(await fetch(edit(expired, { tenantId: globex.tenantId })), 404, 'not_found');
  });

  it("answers tenant A's URL re-pointed at tenant B's image with 404, with or without B's tenant id", async () => {
    const file = `${globex.image.id}.png`;
    await expectProblem(await fetch(edit(acme.image.url, { file })), 404, 'not_found');
    await expectProblem(await fetch(edit(acme.image.url, { tenantId: globex.tenantId, file })), 404, 'not_found');
  });

  it("finds nothing for a validly signed URL naming another tenant's image: storage is tenant-bound too", async () => {
    const crossed = server.services.signer.imageUrl(acme.tenantId, globex.image.id, 'png');
    await expectProblem(await fetch(crossed), 404, 'not_found');
    const missing = server.services.signer.imageUrl(acme.tenantId, newId('img'), 'png');
    await expectProblem(await fetch(missing), 404, 'not_found');
  });

  it('answers 404 for a format the image is not stored in, and for paths that are not files', async () => {
    await expectProblem(await fetch(edit(acme.image.url, { file: `${acme.image.id}.webp` })), 404, 'not_found');
    await expectProblem(await fetch(edit(acme.image.url, { file: '..%2F..%2Fsecrets%2Fsigning.key' })), 404, 'not_found');
    await expectProblem(await fetch(new URL(`/v1/files/${acme.tenantId}/${acme.image.id}.png`, server.url)), 404, 'not_found');
  });
});

/**
 * A verified shopper's generation, made as a storefront makes it: the tenant's backend
 * mints a shopper session, the widget presents it, the runner completes the job, and
 * the widget is handed the image's URL.
 */
async function shopperImage(tenant: Tenant, shopperId: string): Promise<{ jobId: string; image: PublicImage; bytes: Buffer }> {
  const minted = await server.api(tenant.secretKey, '/v1/sessions', { body: { shopperId } });
  const session = (await minted.json()) as ShopperSessionBody;
  const widget = await openWidgetSocket(server.url, tenant.publishableKey, ACME_ORIGIN);
  try {
    widget.send({ type: 'hello', v: REALTIME_PROTOCOL_VERSION, shopper: session.token });
    await widget.receive('welcome');
    widget.send({ type: 'generate', ref: 'r1', params: { prompt: 'a lamp on my desk' } });
    const { id } = await widget.receive('accepted', (message) => message.ref === 'r1');
    runner.send({ type: 'ready' });
    const job = await runner.receive('job', (message) => message.jobId === id);
    const bytes = await pngBytes(90, 140);
    completeJob(runner, job, [bytes]);
    const completed = await widget.receive('completed', (message) => message.id === id);
    return { jobId: id, image: completed.images[0]!, bytes };
  } finally {
    await widget.close();
  }
}

describe('GET /v1/files: images bound to a shopper', () => {
  let mine: { jobId: string; image: PublicImage; bytes: Buffer };

  beforeAll(async () => {
    mine = await shopperImage(acme, 'cust-alice');
  });

  it('hands the shopper a URL naming them, which opens their image, cached privately only', async () => {
    expect(new URL(mine.image.url).searchParams.get('shopper')).toBe('cust-alice');
    const response = await fetch(mine.image.url);
    expect(response.status).toBe(200);
    expect(response.headers.get('cache-control')).toMatch(/^private, max-age=\d+, immutable$/);
    expect(Buffer.from(await response.arrayBuffer()).equals(mine.bytes)).toBe(true);
  });

  it("gives the tenant's backend the same shopper-bound URL for that generation", async () => {
    const [image] = (await viewGeneration(server, acme.secretKey, mine.jobId)).images;
    expect(new URL(image!.url).searchParams.get('shopper')).toBe('cust-alice');
    expect((await fetch(image!.url)).status).toBe(200);
  });

  it('does not open with another shopper named in it, or with the shopper taken out', async () => {
    const other = new URL(mine.image.url);
    other.searchParams.set('shopper', 'cust-bob');
    await expectProblem(await fetch(other), 404, 'not_found');
    const dropped = new URL(mine.image.url);
    dropped.searchParams.delete('shopper');
    await expectProblem(await fetch(dropped), 404, 'not_found');
    const twice = new URL(mine.image.url);
    twice.searchParams.append('shopper', 'cust-bob');
    await expectProblem(await fetch(twice), 404, 'not_found');
  });

  it("does not open for a URL validly signed for another shopper, or for none: the image's shopper decides", async () => {
    const { signer } = server.services;
    const forBob = signer.shopperImageUrl(acme.tenantId, 'cust-bob', mine.image.id, 'png');
    await expectProblem(await fetch(forBob), 404, 'not_found');
    await expectProblem(await fetch(signer.imageUrl(acme.tenantId, mine.image.id, 'png')), 404, 'not_found');
    // And the other way round: a shopper-bound URL does not open an image made through the API.
    const onApiImage = signer.shopperImageUrl(acme.tenantId, 'cust-alice', acme.image.id, 'png');
    await expectProblem(await fetch(onApiImage), 404, 'not_found');
  });

  it("does not open another shopper's image: Bob's own URL names Bob and opens only Bob's", async () => {
    const bobs = await shopperImage(acme, 'cust-bob');
    expect((await fetch(bobs.image.url)).status).toBe(200);
    const aliceOnBobs = new URL(mine.image.url);
    aliceOnBobs.pathname = new URL(bobs.image.url).pathname;
    await expectProblem(await fetch(aliceOnBobs), 404, 'not_found');
  });
});
