import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  expectProblem,
  startRunnerProcess,
  startTestServer,
  type RunnerProcess,
  type TestServer,
  uploadRgba,
} from '@atelier/testing';

/**
 * The tenant's logo as its watermark, end to end: uploaded over REST, named in the
 * configuration, fetched by the real runner process as a signed job asset, and drawn into
 * the pixels before the image is encoded and stored.
 */
let server: TestServer;
let runner: RunnerProcess;

const SIZE = 1024;
/** 2% of the shorter side, as watermark.ts insets every watermark. */
const MARGIN = Math.round(0.02 * SIZE);
const SCALE = 0.25;

beforeAll(async () => {
  server = await startTestServer();
  runner = await startRunnerProcess({ serverUrl: server.url, token: await server.createRunnerToken(), name: 'logo' });
  await runner.logged((line) => line.msg === 'connected to server', 120_000);
}, 180_000);

afterAll(async () => {
  await runner?.stop();
  await server?.stop();
});

/** A 128×64 logo: opaque red on the left half, transparent on the right. */
async function uploadLogo(secretKey: string): Promise<string> {
  const [width, height] = [128, 64];
  const rgba = Buffer.alloc(width * height * 4);
  for (let y = 0; y < height; y++) for (let x = 0; x < width / 2; x++) rgba.set([255, 0, 0, 255], (y * width + x) * 4);
  return uploadRgba(server, secretKey, { width, height, rgba });
}

const configure = (secretKey: string, body: unknown) => server.api(secretKey, '/v1/config', { method: 'PUT', body });

/** Every file stored for the tenant, as paths under its prefix. */
async function storedFiles(tenantId: string): Promise<string[]> {
  const root = join(server.dataDir, 'files', 'tenants', tenantId);
  const entries = await readdir(root, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name).slice(root.length + 1))
    .sort();
}

/** Generates one seeded PNG and answers the decoded pixels of the file the server stored. */
async function storedPixels(tenant: { tenantId: string; secretKey: string }): Promise<Buffer> {
  const response = await server.api(tenant.secretKey, '/v1/generations', {
    body: { prompt: 'a walnut desk lamp', performance: 'lightning', aspectRatio: `${SIZE}x${SIZE}`, seed: 7 },
  });
  expect(response.status).toBe(202);
  const { id } = (await response.json()) as { id: string };
  const images = await vi.waitFor(
    async () => {
      const view = (await (await server.api(tenant.secretKey, `/v1/generations/${id}`)).json()) as {
        status: string;
        images: { id: string }[];
      };
      if (view.status !== 'succeeded') throw new Error(`${id} is ${view.status}`);
      return view.images;
    },
    { timeout: 60_000, interval: 50 },
  );
  const stored = (await storedFiles(tenant.tenantId)).filter((file) => file.startsWith(`generations/${id}/`));
  expect(stored).toEqual([expect.stringContaining(images[0]!.id)]);
  const bytes = await readFile(join(server.dataDir, 'files', 'tenants', tenant.tenantId, stored[0]!));
  return sharp(bytes).raw().toBuffer();
}

const pixel = (rgb: Buffer, x: number, y: number) => [...rgb.subarray((y * SIZE + x) * 3, (y * SIZE + x) * 3 + 3)];

describe('logo watermark', () => {
  it('draws the logo into the stored image at its position and scale, and keeps its transparency', async () => {
    const plain = await server.createTenant({ name: 'Plain' });
    const marked = await server.createTenant({ name: 'Marked' });
    const logoImageId = await uploadLogo(marked.secretKey);
    for (const tenant of [plain, marked])
      expect((await configure(tenant.secretKey, { output: { format: 'png' } })).status).toBe(200);
    const config = await configure(marked.secretKey, {
      output: { watermark: true, watermarkStyle: { logoImageId, position: 'top-left', opacity: 1, scale: SCALE } },
    });
    expect(config.status).toBe(200);

    const reference = await storedPixels(plain);
    const image = await storedPixels(marked);
    // The logo is 256 px tall (scale × height) and so 512 wide; its left half is opaque red.
    const [logoHeight, logoWidth] = [SCALE * SIZE, 2 * SCALE * SIZE];
    for (const [x, y] of [
      [MARGIN + 8, MARGIN + 8],
      [MARGIN + logoWidth / 4, MARGIN + logoHeight / 2],
      [MARGIN + logoWidth / 2 - 8, MARGIN + logoHeight - 8],
    ] as const) {
      expect(pixel(image, x, y)).toEqual([255, 0, 0]);
      expect(pixel(reference, x, y)).not.toEqual([255, 0, 0]);
    }
    // Its transparent half and everything outside it are the unmarked image's pixels.
    for (const [x, y] of [
      [MARGIN + (3 * logoWidth) / 4, MARGIN + logoHeight / 2],
      [MARGIN + logoWidth + 40, MARGIN + 40],
      [SIZE / 2, SIZE - 10],
      [SIZE - 10, SIZE / 2],
    ] as const) {
      expect(pixel(image, x, y)).toEqual(pixel(reference, x, y));
    }
    // No unmarked copy: the tenant's files are the logo and the one marked image.
    const files = await storedFiles(marked.tenantId);
    expect(files).toHaveLength(2);
    expect(files[0]).toMatch(/^generations\//);
    expect(files[1]).toBe(`uploads/${logoImageId}.png`);
  });

  it("refuses a logo id that names no upload of the tenant's, with 400 naming the field, and changes nothing", async () => {
    const owner = await server.createTenant({ name: 'Owner' });
    const other = await server.createTenant({ name: 'Other' });
    const theirs = await uploadLogo(owner.secretKey);
    const before = await (await server.api(other.secretKey, '/v1/config')).json();
    for (const logoImageId of [theirs, `upl_${'A'.repeat(20)}`, 'https://evil.example/logo.png']) {
      const problem = await expectProblem(
        await configure(other.secretKey, { output: { watermarkStyle: { logoImageId } } }),
        400,
        'invalid_request',
      );
      expect(problem.errors?.map((error) => error.field)).toEqual(['output.watermarkStyle.logoImageId']);
    }
    expect(await (await server.api(other.secretKey, '/v1/config')).json()).toEqual(before);
  });
});
