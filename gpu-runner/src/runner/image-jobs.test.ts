import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startTestServer, type TestServer, uploadRgba } from '@atelier/testing';
import { ensureModel } from '../model/ensure-model.js';
import { SdxlPipeline } from '../pipeline/sdxl-pipeline.js';
import { AssetCache } from './asset-cache.js';
import { RunnerClient } from './runner-client.js';

/**
 * Image jobs end to end: a real server, uploads over REST, runners that advertise their
 * modes, assets fetched over the signed URLs, results with their fidelity figure.
 */
let server: TestServer;
let dir: string;
let secretKey: string;
const pipelines: SdxlPipeline[] = [];
const clients: RunnerClient[] = [];

interface View {
  status: string;
  images: { url: string; width: number; height: number; format: string; productFidelity?: number }[];
  error: { code: string; message: string } | null;
}

async function startRunner(modelDir: string, name: string): Promise<void> {
  const pipeline = await SdxlPipeline.load(modelDir, { provider: 'cpu' });
  pipelines.push(pipeline);
  const client = new RunnerClient({
    serverUrl: server.url,
    token: await server.createRunnerToken(),
    name,
    model: name,
    executor: pipeline,
    assets: new AssetCache(join(dir, `cache-${name}`)),
  });
  clients.push(client);
  client.start();
}

beforeAll(async () => {
  server = await startTestServer();
  ({ secretKey } = await server.createTenant());
  dir = await mkdtemp(join(tmpdir(), 'image-jobs-'));
  await ensureModel(join(dir, 'full'));
  // A model directory with text-to-image only: the same model without its image-mode models.
  await cp(join(dir, 'full'), join(dir, 'txt2img-only'), { recursive: true });
  for (const part of ['vae_encoder', 'upscaler', 'segmenter']) await rm(join(dir, 'txt2img-only', part), { recursive: true });
}, 120_000);

afterAll(async () => {
  await Promise.all(clients.map((client) => client.stop()));
  await Promise.all(pipelines.map((pipeline) => pipeline.dispose()));
  await server?.stop();
  await rm(dir, { recursive: true, force: true });
});

async function uploadCutout(): Promise<string> {
  const [width, height] = [96, 80];
  const rgba = Buffer.alloc(width * height * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const inside = x >= 30 && x < 66 && y >= 20 && y < 64;
      rgba.set(inside ? [180, (x * 9) % 256, (y * 7) % 256, 255] : [0, 0, 0, 0], (y * width + x) * 4);
    }
  }
  return uploadRgba(server, secretKey, { width, height, rgba });
}

async function create(body: Record<string, unknown>): Promise<string> {
  const response = await server.api(secretKey, '/v1/generations', { body });
  expect(response.status).toBe(202);
  return ((await response.json()) as { id: string }).id;
}

const view = async (id: string) => (await (await server.api(secretKey, `/v1/generations/${id}`)).json()) as View;

function finished(id: string): Promise<View> {
  return vi.waitFor(
    async () => {
      const current = await view(id);
      if (!['succeeded', 'failed', 'canceled'].includes(current.status)) throw new Error(`${id} is ${current.status}`);
      return current;
    },
    { timeout: 60_000, interval: 50 },
  );
}

describe('image jobs through the server', () => {
  it('offers an image job only to a runner that has its mode, then runs it from the uploaded file', async () => {
    const inputImageId = await uploadCutout();
    await startRunner(join(dir, 'txt2img-only'), 'txt2img-only');
    const background = await create({
      prompt: 'on a marble counter',
      mode: 'background',
      performance: 'lightning',
      inputImageId,
    });
    // Queued after it, and run by the only runner: the image job was passed over, not stuck in front.
    const text = await finished(
      await create({ prompt: 'a walnut desk lamp', performance: 'lightning', aspectRatio: '1024x1024' }),
    );
    expect(text.status).toBe('succeeded');
    expect((await view(background)).status).toBe('queued');

    await startRunner(join(dir, 'full'), 'full');
    const done = await finished(background);
    expect(done.error).toBeNull();
    expect(done.status).toBe('succeeded');
    const [image] = done.images;
    expect(image).toMatchObject({ width: 96, height: 80, format: 'png', productFidelity: 0 });
    const bytes = Buffer.from(await (await fetch(image!.url)).arrayBuffer());
    expect(await sharp(bytes).metadata()).toMatchObject({ width: 96, height: 80, format: 'png' });
  });

  it('varies and upscales an upload', async () => {
    const inputImageId = await uploadCutout();
    const vary = await finished(
      await create({ prompt: 'studio shot', mode: 'vary-strong', performance: 'lightning', inputImageId }),
    );
    expect(vary.status).toBe('succeeded');
    expect(vary.images[0]).toMatchObject({ width: 96, height: 80, format: 'webp' });
    expect(vary.images[0]!.productFidelity).toBeUndefined();
    const upscale = await finished(
      await create({ prompt: 'studio shot', mode: 'upscale', upscaleFactor: 1.5, performance: 'lightning', inputImageId }),
    );
    expect(upscale.status).toBe('succeeded');
    expect(upscale.images[0]).toMatchObject({ width: 144, height: 120 });
  });
});
