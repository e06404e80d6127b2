import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import sharp from 'sharp';
import type { JobProgress, ResolvedJobParams } from '@atelier/protocol';
import { startTestServer, type TestServer } from '@atelier/testing';
import { ensureModel } from '../model/ensure-model.js';
import { SdxlPipeline } from '../pipeline/sdxl-pipeline.js';
import type { LocalAsset } from './asset-cache.js';
import type { ExecutedImage, JobExecutor } from './job-executor.js';
import { RunnerClient } from './runner-client.js';

/**
 * The runner against the real server over a real socket, running the real ONNX
 * pipeline on the tiny model: the runner side of the walking skeleton.
 */
let server: TestServer;
let pipeline: SdxlPipeline;
let executor: WatchedPipeline;
let client: RunnerClient;
let secretKey: string;

interface Execution {
  prompt: string;
  lastStep: number;
  ended?: 'returned' | 'aborted' | 'threw';
}

/**
 * The real pipeline, with a record of what the runner asked of it: how far each job got
 * and how its run ended. It changes nothing the pipeline does.
 */
class WatchedPipeline implements JobExecutor {
  readonly executions: Execution[] = [];

  constructor(private readonly pipeline: SdxlPipeline) {}

  get device() {
    return this.pipeline.device;
  }

  get maxPixels() {
    return this.pipeline.maxPixels;
  }

  get modes() {
    return this.pipeline.modes;
  }

  async generate(
    params: ResolvedJobParams,
    options: { onProgress(progress: JobProgress): void; signal: AbortSignal; assets?: readonly LocalAsset[] },
  ): Promise<ExecutedImage[]> {
    const execution: Execution = { prompt: params.prompt, lastStep: 0 };
    this.executions.push(execution);
    try {
      const images = await this.pipeline.generate(params, {
        ...(options.assets && { assets: options.assets }),
        signal: options.signal,
        onProgress: (progress) => {
          execution.lastStep = progress.step;
          options.onProgress(progress);
        },
      });
      execution.ended = 'returned';
      return images;
    } catch (error) {
      execution.ended = options.signal.aborted ? 'aborted' : 'threw';
      throw error;
    }
  }
}

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
  executor = new WatchedPipeline(pipeline);
  client = new RunnerClient({
    serverUrl: server.url,
    token: await server.createRunnerToken(),
    name: 'test-runner',
    model: 'tiny-sdxl',
    executor,
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

function until(id: string, done: (v: View) => boolean, timeoutMs = 60_000): Promise<View> {
  return vi.waitFor(
    async () => {
      const current = await view(id);
      if (!done(current)) throw new Error(`generation ${id} is at ${JSON.stringify(current)}`);
      return current;
    },
    { timeout: timeoutMs, interval: 50 },
  );
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
    const running = await until(id, (v) => v.status === 'running' && v.progress.step > 0);
    expect((await server.api(secretKey, `/v1/generations/${id}/cancel`, { method: 'POST' })).status).toBe(200);
    expect((await view(id)).status).toBe('canceled');

    // The runner aborts the pipeline mid-job, well before its 4 × 60 steps.
    const execution = executor.executions.find((e) => e.prompt === 'slow one')!;
    await vi.waitFor(() => expect(execution.ended).toBeDefined(), { timeout: 30_000 });
    expect(execution.ended).toBe('aborted');
    expect(execution.lastStep).toBeLessThan(running.progress.steps);
    expect((await view(id)).images).toEqual([]);

    // It asked for work again: the next job runs on it.
    const next = await until(await create({ prompt: 'after the cancel', performance: 'lightning' }), finished);
    expect(next.status).toBe('succeeded');
    expect(executor.executions.at(-1)).toMatchObject({ prompt: 'after the cancel', ended: 'returned' });
  });
});
