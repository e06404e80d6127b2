import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { OUTPUT_FORMATS, type OutputFormat, type PublicImage } from '@atelier/protocol';
import {
  createGeneration,
  connectRunner,
  imageFrame,
  readJob,
  type RunnerProbe,
  startTestServer,
  type TestServer,
  viewGeneration,
} from '@atelier/testing';

let server: TestServer;
let runner: RunnerProbe;
let tenant: { tenantId: string; secretKey: string };
/** One image of each output format, as the runner sent it and as the API presents it. */
const images = new Map<OutputFormat, { bytes: Buffer; image: PublicImage }>();

/** The type each format must be served as (IANA), written out rather than derived. */
const CONTENT_TYPES: Record<OutputFormat, string> = {
  png: 'image/png',
  webp: 'image/webp',
  jpeg: 'image/jpeg',
  avif: 'image/avif',
};
/** What `sharp` reads each format's bytes as. */
const DECODED_AS: Record<OutputFormat, string> = { png: 'png', webp: 'webp', jpeg: 'jpeg', avif: 'heif' };

/** A generation whose runner sends one real image in `format`, completed through the runner protocol. */
async function generationIn(format: OutputFormat): Promise<{ bytes: Buffer; image: PublicImage }> {
  const bytes = await sharp({ create: { width: 48, height: 32, channels: 3, background: { r: 180, g: 90, b: 30 } } })
    .toFormat(format)
    .toBuffer();
  const id = await createGeneration(server, tenant.secretKey, { prompt: `a ${format} lamp` });
  runner.send({ type: 'ready' });
  const job = await runner.receive('job', (message) => message.jobId === id);
  runner.sendBinary(imageFrame(job, 0, bytes, { format, width: 48, height: 32 }));
  runner.send({ type: 'completed', jobId: job.jobId, epoch: job.epoch, imageCount: 1 });
  await vi.waitFor(async () => expect((await readJob(server, id)).status).toBe('succeeded'));
  const [image] = (await viewGeneration(server, tenant.secretKey, id)).images;
  return { bytes, image: image! };
}

beforeAll(async () => {
  server = await startTestServer();
  runner = await connectRunner(server.url, await server.createRunnerToken());
  tenant = await server.createTenant({ name: 'Acme' });
  for (const format of OUTPUT_FORMATS) images.set(format, await generationIn(format));
});

afterAll(async () => {
  await runner.close();
  await server.stop();
});

const png = () => images.get('png')!;
const bodyOf = async (response: Response) => Buffer.from(await response.arrayBuffer());

describe('GET /v1/files: formats and headers', () => {
  it.each(OUTPUT_FORMATS)('serves a %s result as its own content type, unsniffed, byte for byte', async (format) => {
    const { bytes, image } = images.get(format)!;
    expect(image.format).toBe(format);
    expect(new URL(image.url).pathname.endsWith(`.${format}`)).toBe(true);
    const response = await fetch(image.url);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe(CONTENT_TYPES[format]);
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    const served = await bodyOf(response);
    expect(served.equals(bytes)).toBe(true);
    expect((await sharp(served).metadata()).format).toBe(DECODED_AS[format]);
  });

  it('lets CDNs keep a signed, tenant-bound image until its URL expires, and says it serves ranges', async () => {
    const response = await fetch(png().image.url);
    const expires = Number(new URL(png().image.url).searchParams.get('expires'));
    const cacheControl = /^public, max-age=(\d+), immutable$/.exec(response.headers.get('cache-control') ?? '');
    expect(cacheControl, response.headers.get('cache-control') ?? '').not.toBeNull();
    const maxAge = Number(cacheControl![1]);
    // Never beyond the URL's own expiry (the clock may tick between signing and serving).
    expect(maxAge).toBeGreaterThan(0);
    expect(Date.now() / 1000 + maxAge).toBeLessThanOrEqual(expires + 1);
    expect(response.headers.get('accept-ranges')).toBe('bytes');
    expect(response.headers.get('etag')).toBe(`"${png().image.id}"`);
    expect(response.headers.get('content-length')).toBe(String(png().bytes.length));
    await response.arrayBuffer();
  });

  it('lets nobody keep a refusal: 404 and 403 answers, and unsigned paths, are no-store', async () => {
    const { image } = png();
    const unsigned = new URL(image.url);
    unsigned.search = '';
    const expired = server.services.signer.imageUrl(tenant.tenantId, image.id, 'png', Date.now() - 60 * 60 * 1000);
    const tampered = new URL(image.url);
    tampered.searchParams.set('signature', 'A'.repeat(43));
    const answers = [
      [unsigned.toString(), 404],
      [new URL(`/v1/files/${tenant.tenantId}/nothing.png`, server.url).toString(), 404],
      [new URL('/v1/files/', server.url).toString(), 404],
      [tampered.toString(), 404],
      [expired, 403],
    ] as const;
    for (const [url, status] of answers) {
      const response = await fetch(url);
      expect(response.status, url).toBe(status);
      expect(response.headers.get('cache-control'), url).toBe('no-store');
      expect(response.headers.get('x-content-type-options'), url).toBe('nosniff');
      expect(response.headers.get('content-type'), url).toMatch(/^application\/problem\+json/);
      await response.arrayBuffer();
    }
  });

  it('answers HEAD with the headers of GET and no body', async () => {
    const response = await fetch(png().image.url, { method: 'HEAD' });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('image/png');
    expect(response.headers.get('content-length')).toBe(String(png().bytes.length));
    expect((await bodyOf(response)).length).toBe(0);
  });
});

describe('GET /v1/files: ranges', () => {
  const ranged = (range: string, headers: Record<string, string> = {}) =>
    fetch(png().image.url, { headers: { Range: range, ...headers } });

  it('answers one range with 206, Content-Range and exactly those bytes: a span, an open end, a suffix', async () => {
    const { bytes } = png();
    const size = bytes.length;
    const cases = [
      ['bytes=0-9', 0, 9],
      ['bytes=10-', 10, size - 1],
      ['bytes=-5', size - 5, size - 1],
      [`bytes=${size - 3}-${size + 100}`, size - 3, size - 1],
      [`bytes=-${size + 100}`, 0, size - 1],
    ] as const;
    for (const [range, start, end] of cases) {
      const response = await ranged(range);
      expect(response.status, range).toBe(206);
      expect(response.headers.get('content-range'), range).toBe(`bytes ${start}-${end}/${size}`);
      expect(response.headers.get('content-length'), range).toBe(String(end - start + 1));
      expect(response.headers.get('content-type'), range).toBe('image/png');
      expect(response.headers.get('cache-control'), range).toMatch(/^public, max-age=\d+, immutable$/);
      expect((await bodyOf(response)).equals(bytes.subarray(start, end + 1)), range).toBe(true);
    }
  });

  it('answers a range past the end with 416, the size in Content-Range, and nothing cached', async () => {
    const size = png().bytes.length;
    for (const range of [`bytes=${size}-`, `bytes=${size + 10}-${size + 20}`, 'bytes=-0']) {
      const response = await ranged(range);
      expect(response.status, range).toBe(416);
      expect(response.headers.get('content-range'), range).toBe(`bytes */${size}`);
      expect(response.headers.get('cache-control'), range).toBe('no-store');
      expect(JSON.parse((await bodyOf(response)).toString('utf8')), range).toMatchObject({ code: 'range_not_satisfiable' });
    }
  });

  it('answers several ranges, a backwards range and a foreign unit with the whole file (200)', async () => {
    for (const range of ['bytes=0-1,5-6', 'bytes=9-5', 'items=0-5', 'bytes=a-b']) {
      const response = await ranged(range);
      expect(response.status, range).toBe(200);
      expect(response.headers.get('content-range'), range).toBeNull();
      expect((await bodyOf(response)).equals(png().bytes), range).toBe(true);
    }
  });

  it('honours If-Range only while it names the current ETag', async () => {
    const etag = `"${png().image.id}"`;
    const same = await ranged('bytes=0-3', { 'If-Range': etag });
    expect(same.status).toBe(206);
    expect((await bodyOf(same)).equals(png().bytes.subarray(0, 4))).toBe(true);
    const other = await ranged('bytes=0-3', { 'If-Range': '"img_other"' });
    expect(other.status).toBe(200);
    expect((await bodyOf(other)).equals(png().bytes)).toBe(true);
  });
});

describe('GET /v1/files: revalidation', () => {
  it('answers If-None-Match with the ETag by 304, headers and no body; another ETag gets the file', async () => {
    const etag = `"${png().image.id}"`;
    const fresh = await fetch(png().image.url, { headers: { 'If-None-Match': etag } });
    expect(fresh.status).toBe(304);
    expect(fresh.headers.get('etag')).toBe(etag);
    expect(fresh.headers.get('cache-control')).toMatch(/^public, max-age=\d+, immutable$/);
    expect((await bodyOf(fresh)).length).toBe(0);

    const listed = await fetch(png().image.url, { headers: { 'If-None-Match': `"img_other", ${etag}` } });
    expect(listed.status).toBe(304);
    await listed.arrayBuffer();

    const stale = await fetch(png().image.url, { headers: { 'If-None-Match': '"img_other"' } });
    expect(stale.status).toBe(200);
    expect((await bodyOf(stale)).equals(png().bytes)).toBe(true);
  });

  it('checks the signature before revalidating: an expired URL is 403 even with the right ETag', async () => {
    const expired = server.services.signer.imageUrl(tenant.tenantId, png().image.id, 'png', Date.now() - 60 * 60 * 1000);
    const response = await fetch(expired, { headers: { 'If-None-Match': `"${png().image.id}"` } });
    expect(response.status).toBe(403);
    expect(response.headers.get('cache-control')).toBe('no-store');
    await response.arrayBuffer();
  });
});
