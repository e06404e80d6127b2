import { createHash } from 'node:crypto';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '@atelier/testing';
import { runAsSystem } from '../tenancy/tenant-context.js';

let server: TestServer;
let acme: { tenantId: string; secretKey: string };
let globex: { tenantId: string; secretKey: string };

beforeAll(async () => {
  server = await startTestServer();
  acme = await server.createTenant({ name: 'Acme' });
  globex = await server.createTenant({ name: 'Globex' });
});

afterAll(() => server.stop());

/** A product cut-out: an opaque square on a transparent field. */
function productPng(width = 96, height = 80): Promise<Buffer> {
  const rgba = Buffer.alloc(width * height * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const at = (y * width + x) * 4;
      const inside = x > width / 4 && x < (3 * width) / 4 && y > height / 4 && y < (3 * height) / 4;
      rgba.set(inside ? [200, (x * 5) % 256, (y * 3) % 256, 255] : [0, 0, 0, 0], at);
    }
  }
  return sharp(rgba, { raw: { width, height, channels: 4 } })
    .png()
    .toBuffer();
}

function upload(secretKey: string, body: Uint8Array | string, contentType: string, headers: Record<string, string> = {}) {
  return fetch(`${server.url}/v1/uploads`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${secretKey}`, 'Content-Type': contentType, ...headers },
    body,
  });
}

async function expectProblem(response: Response, status: number, code: string, detail: RegExp): Promise<void> {
  expect(response.status).toBe(status);
  const problem = (await response.json()) as { code: string; detail: string };
  expect(problem.code).toBe(code);
  expect(problem.detail).toMatch(detail);
}

const countUploads = () => runAsSystem('test: count', () => server.database.models.Upload.countDocuments());

describe('POST /v1/uploads', () => {
  it('stores a PNG with transparency and answers its id, size, format and alpha', async () => {
    const bytes = await productPng();
    const response = await upload(acme.secretKey, bytes, 'image/png');
    expect(response.status).toBe(201);
    const body = (await response.json()) as { id: string };
    expect(body).toEqual({ id: expect.stringMatching(/^upl_/) as string, width: 96, height: 80, format: 'png', hasAlpha: true });
    const stored = await runAsSystem('test: read', () => server.database.models.Upload.findById(body.id).lean());
    expect(stored).toMatchObject({
      tenantId: acme.tenantId,
      bytes: bytes.length,
      sha256: createHash('sha256').update(bytes).digest('hex'),
    });
    expect(stored!.storageKey.startsWith(`tenants/${acme.tenantId}/uploads/`)).toBe(true);
  });

  it('takes JPEG and WebP too', async () => {
    const jpeg = await sharp({ create: { width: 64, height: 128, channels: 3, background: '#806040' } })
      .jpeg()
      .toBuffer();
    expect(await (await upload(acme.secretKey, jpeg, 'image/jpeg')).json()).toMatchObject({ format: 'jpeg', hasAlpha: false });
    const webp = await sharp(await productPng(64, 64))
      .webp({ lossless: true })
      .toBuffer();
    expect(await (await upload(acme.secretKey, webp, 'image/webp')).json()).toMatchObject({ format: 'webp', hasAlpha: true });
  });

  it('refuses bad input with a specific 4xx and stores nothing', async () => {
    const before = await countUploads();
    const png = await productPng();
    await expectProblem(await upload(acme.secretKey, 'hello', 'text/plain'), 415, 'unsupported_media_type', /image\/png/);
    await expectProblem(
      await upload(acme.secretKey, png.subarray(0, png.length - 40), 'image/png'),
      400,
      'invalid_request',
      /corrupt|readable/,
    );
    await expectProblem(
      await upload(acme.secretKey, Buffer.from('not an image at all'), 'image/png'),
      400,
      'invalid_request',
      /not a readable PNG/,
    );
    await expectProblem(
      await upload(acme.secretKey, png, 'image/jpeg'),
      400,
      'invalid_request',
      /PNG image but Content-Type says image\/jpeg/,
    );
    await expectProblem(await upload(acme.secretKey, new Uint8Array(), 'image/png'), 400, 'invalid_request', /empty/);
    const tiny = await sharp({ create: { width: 32, height: 32, channels: 3, background: '#000' } })
      .png()
      .toBuffer();
    await expectProblem(await upload(acme.secretKey, tiny, 'image/png'), 400, 'invalid_request', /32x32/);
    const huge = new Uint8Array(20 * 1024 * 1024 + 1);
    await expectProblem(await upload(acme.secretKey, huge, 'image/png'), 413, 'payload_too_large', /at most 20971520 bytes/);
    expect(await countUploads()).toBe(before);
  });

  it('needs the images:write scope', async () => {
    const created = await server.api(acme.secretKey, '/v1/keys', { body: { scopes: ['generations:write'] } });
    const { key } = (await created.json()) as { key: string };
    await expectProblem(await upload(key, await productPng(), 'image/png'), 403, 'forbidden', /images:write/);
  });
});

describe('uploads in generations', () => {
  let acmeUpload: string;
  beforeAll(async () => {
    acmeUpload = ((await (await upload(acme.secretKey, await productPng(), 'image/png')).json()) as { id: string }).id;
  });

  it("refuses another tenant's upload as not found", async () => {
    for (const field of ['inputImageId', 'maskImageId'] as const) {
      const body = { prompt: 'marble counter', mode: 'background', inputImageId: acmeUpload, [field]: acmeUpload };
      await expectProblem(
        await server.api(globex.secretKey, '/v1/generations', { body }),
        404,
        'not_found',
        /The upload named in inputImageId was not found/,
      );
    }
  });

  it('refuses a mode that needs an input without one, and input fields that the mode does not use', async () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ mode: 'vary-subtle' }, /needs inputImageId/],
      [{ inputImageId: acmeUpload }, /needs a mode/],
      [{ mode: 'vary-strong', inputImageId: acmeUpload, maskImageId: acmeUpload }, /only with mode "background"/],
      [{ mode: 'vary-strong', inputImageId: acmeUpload, upscaleFactor: 1.5 }, /only with mode "upscale"/],
      [{ mode: 'upscale', inputImageId: acmeUpload, aspectRatio: '1024x1024' }, /keeps the input's shape/],
    ];
    for (const [params, detail] of cases) {
      const response = await server.api(acme.secretKey, '/v1/generations', { body: { prompt: 'x', ...params } });
      await expectProblem(response, 400, 'invalid_request', detail);
    }
  });

  it('resolves the output size from the input and records the assets the runner will fetch', async () => {
    const response = await server.api(acme.secretKey, '/v1/generations', {
      body: { prompt: 'x', mode: 'upscale', upscaleFactor: 1.5, inputImageId: acmeUpload },
    });
    expect(response.status).toBe(202);
    const { id } = (await response.json()) as { id: string };
    const job = await runAsSystem('test: read', () => server.database.models.Generation.findById(id).lean());
    expect(job!.resolved).toMatchObject({
      mode: 'upscale',
      upscaleFactor: 1.5,
      inputImageId: acmeUpload,
      width: 144,
      height: 120,
    });
    const stored = await runAsSystem('test: read', () => server.database.models.Upload.findById(acmeUpload).lean());
    expect(job!.assets).toEqual([{ kind: 'input', id: acmeUpload, sha256: stored!.sha256, bytes: stored!.bytes }]);
  });
});

describe('GET /v1/assets', () => {
  it('serves an upload through its signed URL, bound to the tenant and to this purpose', async () => {
    const bytes = await productPng(72, 72);
    const { id } = (await (await upload(acme.secretKey, bytes, 'image/png')).json()) as { id: string };
    const url = server.services.signer.assetUrl(acme.tenantId, id);
    const ok = await fetch(url);
    expect(ok.status).toBe(200);
    expect(Buffer.from(await ok.arrayBuffer()).equals(bytes)).toBe(true);

    // The same signature with another tenant in the path, or as an image link, opens nothing
    // (not_found: only a link issued for exactly this file is told more, that it expired).
    const other = new URL(url);
    other.pathname = other.pathname.replace(acme.tenantId, globex.tenantId);
    expect((await fetch(other)).status).toBe(404);
    const asImage = new URL(server.services.signer.imageUrl(acme.tenantId, id, 'png'));
    const reused = new URL(url);
    reused.searchParams.set('signature', asImage.searchParams.get('signature')!);
    expect((await fetch(reused)).status).toBe(404);
    // Globex's own signature for Acme's upload id finds nothing: lookups run in the signed tenant.
    expect((await fetch(server.services.signer.assetUrl(globex.tenantId, id))).status).toBe(404);
  });
});
