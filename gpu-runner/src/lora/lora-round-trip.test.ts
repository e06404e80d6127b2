import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { LoraInfo } from '@atelier/protocol';
import { startTestServer, type TestServer } from '@atelier/testing';
import { ensureModel } from '../model/ensure-model.js';
import { tinyLoraFile, tinyLoraLayers, tinyLoraTargets } from '../model/tiny-lora.js';
import { SdxlPipeline } from '../pipeline/sdxl-pipeline.js';
import { AssetCache } from '../runner/asset-cache.js';
import { RunnerClient } from '../runner/runner-client.js';

/**
 * A tenant's LoRA from upload to image: the real server, the real runner client over a
 * real socket, fetching the LoRA from the job offer's signed asset URL into its cache,
 * and the real pipeline on the tiny model merging it.
 */
let server: TestServer;
let pipeline: SdxlPipeline;
let client: RunnerClient;
let tenant: { tenantId: string; secretKey: string };
let cacheDir: string;

beforeAll(async () => {
  cacheDir = await mkdtemp(join(tmpdir(), 'lora-round-trip-'));
  server = await startTestServer();
  tenant = await server.createTenant();
  const { dir: modelDir } = await ensureModel();
  pipeline = await SdxlPipeline.load(modelDir);
  client = new RunnerClient({
    serverUrl: server.url,
    token: await server.createRunnerToken(),
    name: 'lora-runner',
    model: 'tiny-sdxl',
    executor: pipeline,
    assets: new AssetCache(cacheDir),
  });
  client.start();
}, 120_000);

afterAll(async () => {
  await client?.stop();
  await pipeline?.dispose();
  await server?.stop();
  await rm(cacheDir, { recursive: true, force: true });
});

interface View {
  status: string;
  images: { url: string }[];
  error: { code: string } | null;
}

async function generate(body: Record<string, unknown>): Promise<View> {
  const response = await server.api(tenant.secretKey, '/v1/generations', { body });
  expect(response.status).toBe(202);
  const { id } = (await response.json()) as { id: string };
  return vi.waitFor(
    async () => {
      const view = (await (await server.api(tenant.secretKey, `/v1/generations/${id}`)).json()) as View;
      if (!['succeeded', 'failed', 'canceled'].includes(view.status)) throw new Error(`${id} is ${view.status}`);
      return view;
    },
    { timeout: 60_000, interval: 50 },
  );
}

/** The image's pixels: its file also carries the job's provenance (its id), which differs from job to job. */
const imagePixels = async (view: View) =>
  sharp(Buffer.from(await (await fetch(view.images[0]!.url)).arrayBuffer()))
    .raw()
    .toBuffer();

describe('a tenant LoRA, uploaded and applied by a runner', () => {
  it('reaches the runner as a job file, changes the image at weight 1 and leaves it pixel-identical at weight 0', async () => {
    const upload = await fetch(`${server.url}/v1/loras?name=tiny`, {
      method: 'POST',
      headers: { authorization: `Bearer ${tenant.secretKey}`, 'content-type': 'application/octet-stream' },
      body: tinyLoraFile(tinyLoraLayers(tinyLoraTargets(), 4, 5), 'kohya', 2),
    });
    expect(upload.status).toBe(201);
    const lora = (await upload.json()) as LoraInfo;

    // LoRAs merge into the base UNet, which the fast presets do not sample with; no sharpness keeps it quick.
    const params = { prompt: 'a walnut desk lamp', performance: 'speed', sharpness: 0, seed: 21, aspectRatio: '1024x1024' };
    const plain = await generate(params);
    const withLora = await generate({ ...params, loras: [{ id: lora.id, weight: 1 }] });
    const atZero = await generate({ ...params, loras: [{ id: lora.id, weight: 0 }] });
    expect([plain.status, withLora.status, atZero.status]).toEqual(['succeeded', 'succeeded', 'succeeded']);
    const base = await imagePixels(plain);
    expect((await imagePixels(withLora)).equals(base)).toBe(false);
    expect((await imagePixels(atZero)).equals(base)).toBe(true);
    // The runner fetched the file, verified, into its cache under the file's hash.
    expect(await readdir(cacheDir)).toContain(lora.sha256);
  });
});
