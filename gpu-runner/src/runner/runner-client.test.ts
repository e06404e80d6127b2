import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import sharp from 'sharp';
import { startTestServer, type TestServer } from '@atelier/testing';
import { ensureModel } from '../model/ensure-model.js';
import { SdxlPipeline } from '../pipeline/sdxl-pipeline.js';
import { RunnerClient } from './runner-client.js';

/**
 * The runner against the real server over a real socket, running the real ONNX
 * pipeline on the tiny model: the runner side of the walking skeleton.
 */
let server: TestServer;
let pipeline: SdxlPipeline;
let client: RunnerClient;
let secretKey: string;

interface View {
  status: string;
  progress: { step: number; steps: number };
  images: { url: string; width: number; height: number; format: string }[];
  error: { code: string } | null;
}

beforeAll(async () => {
  server = await startTestServer();
  ({ secretKey } = await server.createTenant());
  const { dir } = await ensureModel();
  pipeline = await SdxlPipeline.load(dir);
  client = new RunnerClient({
    serverUrl: server.url,
    token: await server.createRunnerToken(),
    name: 'test-runner',
    model: 'tiny-sdxl',
    executor: pipeline,
  });
  client.start();
}, 120_000);

afterAll(async () => {
  await client?.stop();
  await pipeline?.dispose();
  await server?.stop();
});

async function create(body: Record<string, unknown>): Promise<string> {
  const response = await server.api(secretKey, '/v1/generations', { body });
  expect(response.status).toBe(202);
  return ((await response.json()) as { id: string }).id;
}

async function view(id: string): Promise<View> {
  return (await (await server.api(secretKey, `/v1/generations/${id}`)).json()) as View;
}

async function until(id: string, done: (v: View) => boolean, timeoutMs = 60_000): Promise<View> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const current = await view(id);
    if (done(current)) return current;
    if (Date.now() > deadline) throw new Error(`generation ${id} stuck at ${JSON.stringify(current)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const finished = (v: View) => ['succeeded', 'failed', 'canceled'].includes(v.status);

describe('RunnerClient', () => {
  it('executes a leased job and the server serves its image at the requested size', async () => {
    const id = await create({ prompt: 'a walnut desk lamp', aspectRatio: '1152x896', performance: 'extreme-speed', seed: 3 });
    const result = await until(id, finished);
    expect(result.status).toBe('succeeded');
    expect(result.progress).toEqual(expect.objectContaining({ step: 8, steps: 8 }));
    const [image] = result.images;
    expect(image).toMatchObject({ width: 1152, height: 896, format: 'webp' });
    const bytes = Buffer.from(await (await fetch(image!.url)).arrayBuffer());
    expect(await sharp(bytes).metadata()).toMatchObject({ width: 1152, height: 896, format: 'webp' });
  });

  it('produces byte-identical images for the same seed and parameters', async () => {
    const params = { prompt: 'linen shade, morning light', performance: 'lightning', seed: 1234, aspectRatio: '1024x1024' };
    const [a, b] = [await create(params), await create(params)];
    const [first, second] = [await until(a, finished), await until(b, finished)];
    const fetchBytes = async (v: View) => Buffer.from(await (await fetch(v.images[0]!.url)).arrayBuffer());
    expect((await fetchBytes(first)).equals(await fetchBytes(second))).toBe(true);
    const other = await until(await create({ ...params, seed: 1235 }), finished);
    expect((await fetchBytes(other)).equals(await fetchBytes(first))).toBe(false);
  });

  it('stops a running job when it is cancelled, and is ready for the next one', async () => {
    const id = await create({ prompt: 'slow one', performance: 'quality', imageCount: 4 });
    await until(id, (v) => v.status === 'running' && v.progress.step > 0);
    const completedBefore = client.completedJobs;
    expect((await server.api(secretKey, `/v1/generations/${id}/cancel`, { method: 'POST' })).status).toBe(200);
    const canceled = await view(id);
    expect(canceled.status).toBe('canceled');
    // The runner stops mid-job (well before 4 x 60 steps) and asks for more work.
    const deadline = Date.now() + 30_000;
    while (client.completedJobs === completedBefore && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(client.state).toBe('idle');
    expect((await view(id)).images).toEqual([]);

    const next = await until(await create({ prompt: 'after the cancel', performance: 'lightning' }), finished);
    expect(next.status).toBe('succeeded');
  });
});
