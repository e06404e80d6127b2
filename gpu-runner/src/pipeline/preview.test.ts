import { copyFile, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import type { ResolvedJobParams } from '@atelier/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureModel } from '../model/ensure-model.js';
import { LinearPreviewer, encodePreview, latentToRgb, mosaic, mosaicCell, previewDue, type Previewer } from './preview.js';
import { TaesdPreviewer, findTaesdDecoder } from './preview-taesd.js';
import { SdxlPipeline } from './sdxl-pipeline.js';

let dir: string;
let pipeline: SdxlPipeline;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'preview-'));
  await ensureModel(join(dir, 'model'));
  pipeline = await SdxlPipeline.load(join(dir, 'model'), { provider: 'cpu' });
});

afterAll(async () => {
  await pipeline.dispose();
  await rm(dir, { recursive: true, force: true });
});

/** A [4, h, w] latent whose pixel (y, x) has channels `at(y, x)`. */
function latent(height: number, width: number, at: (y: number, x: number) => [number, number, number, number]) {
  const data = new Float32Array(4 * height * width);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) at(y, x).forEach((v, c) => (data[c * height * width + y * width + x] = v));
  return data;
}

const decode = async (url: string) => {
  const match = /^data:image\/(jpeg|webp);base64,(.+)$/.exec(url);
  expect(match).not.toBeNull();
  const bytes = Buffer.from(match![2]!, 'base64');
  return { type: match![1], bytes, meta: await sharp(bytes).metadata() };
};

describe('the linear latent preview', () => {
  it('maps each latent pixel through the SDXL factors and bias, clamped to [-1, 1], to bytes', () => {
    // Expected bytes worked out by hand from ComfyUI's factors: round((clamp(l·F + b) + 1) · 127.5).
    const pixels: [number, number, number, number][] = [
      [1, 0, 0, 0],
      [0, 0, 0, 0],
      [0.5, -1, 0.25, 2],
      [10, 0, 0, 0],
      [-10, 0, 0, 0],
    ];
    const { rgb, width, height } = latentToRgb(
      latent(1, 5, (_y, x) => pixels[x]!),
      1,
      5,
    );
    expect([width, height]).toEqual([5, 1]);
    expect([...rgb]).toEqual([188, 179, 183, 141, 125, 127, 120, 93, 84, 255, 255, 255, 0, 0, 0]);
  });

  it('averages blocks of a latent larger than 256 down to at most 256 per side', () => {
    // 512x384: factor 2. Alternate 1 and -1 in channel 0 so each 2x2 block averages to zero.
    const big = latent(384, 512, (y, x) => [(x + y) % 2 === 0 ? 1 : -1, 0, 0, 0]);
    const { rgb, width, height } = latentToRgb(big, 384, 512);
    expect([width, height]).toEqual([256, 192]);
    expect([...rgb.subarray(0, 6)]).toEqual([141, 125, 127, 141, 125, 127]);
    expect(
      latentToRgb(
        latent(128, 128, () => [0, 0, 0, 0]),
        128,
        128,
      ),
    ).toMatchObject({ width: 128, height: 128 });
  });

  it('puts several images in a grid, each where its index says, the rest black', () => {
    const solid = (value: number) => ({ rgb: Buffer.alloc(2 * 1 * 3, value), width: 2, height: 1 });
    const grid = mosaic([solid(10), solid(20), solid(30)]);
    // 3 images: 2 columns, 2 rows of 2x1 cells.
    expect([grid.width, grid.height]).toEqual([4, 2]);
    const pixel = (x: number, y: number) => grid.rgb[(y * grid.width + x) * 3];
    expect([pixel(0, 0), pixel(1, 0), pixel(2, 0), pixel(3, 0)]).toEqual([10, 10, 20, 20]);
    expect([pixel(0, 1), pixel(1, 1), pixel(2, 1), pixel(3, 1)]).toEqual([30, 30, 0, 0]);
    const one = solid(40);
    expect(mosaic([one])).toBe(one);
    expect([mosaicCell(1), mosaicCell(2), mosaicCell(4)]).toEqual([256, 128, 128]);
  });

  it('encodes as a JPEG or WebP data: URL no larger than 256 pixels', async () => {
    const image = latentToRgb(
      latent(128, 96, (y, x) => [y / 64 - 1, x / 48 - 1, 0, 0]),
      128,
      96,
    );
    const jpeg = await decode(await encodePreview(image, 'jpeg'));
    expect(jpeg.type).toBe('jpeg');
    expect(jpeg.meta).toMatchObject({ format: 'jpeg', width: 96, height: 128 });
    const webp = await decode(await encodePreview(image, 'webp'));
    expect(webp.meta).toMatchObject({ format: 'webp', width: 96, height: 128 });

    const large = { rgb: Buffer.alloc(1024 * 768 * 3, 128), width: 1024, height: 768 };
    expect((await decode(await encodePreview(large, 'jpeg'))).meta).toMatchObject({ width: 256, height: 192 });
  });

  it('is due every `every` steps of an image, never on its last step, never when off', () => {
    const due = (every: number, steps: number) =>
      Array.from({ length: steps }, (_, i) => i + 1).filter((step) => previewDue(every, step, steps));
    expect(due(3, 10)).toEqual([3, 6, 9]);
    expect(due(2, 8)).toEqual([2, 4, 6]);
    expect(due(0, 8)).toEqual([]);
  });
});

const params = (overrides: Partial<ResolvedJobParams> = {}): ResolvedJobParams => ({
  prompt: 'a walnut desk lamp',
  negativePrompt: '',
  width: 128,
  height: 96,
  steps: 7,
  guidance: 5,
  scheduler: 'euler',
  seed: 7,
  imageCount: 2,
  outputFormat: 'png',
  performance: 'speed',
  ...overrides,
});

async function previewsOf(preview: Previewer | undefined, overrides: Partial<ResolvedJobParams> = {}) {
  const seen: { step: number; preview: string }[] = [];
  const all: { step: number; stage: string; preview?: string }[] = [];
  const images = await pipeline.generate(params(overrides), {
    preview,
    onProgress: (progress) => {
      all.push(progress);
      if (progress.preview) seen.push({ step: progress.step, preview: progress.preview });
    },
  });
  return { seen, all, images };
}

describe('previews during a job', () => {
  it('come after every third step, both images of a batch side by side at the latent size', async () => {
    const { seen, all } = await previewsOf(new LinearPreviewer(3));
    // 2 images x 7 steps, sampled together (one UNet call a step advances both): steps 3
    // and 6 of the pair, i.e. 6 and 12 counted over the job. A preview is rendered while
    // the next step runs and goes out on its own report once ready, so never before its
    // step, in order, and before the job's result.
    expect(seen).toHaveLength(2);
    expect(seen[0]!.step).toBeGreaterThanOrEqual(6);
    expect(seen[1]!.step).toBeGreaterThanOrEqual(Math.max(12, seen[0]!.step));
    expect(all.at(-1)!.preview).toBeUndefined();
    expect(all.filter((report) => !report.preview).map((report) => report.step)).toEqual([0, 0, 2, 4, 6, 8, 10, 12, 14, 14, 14]);
    // Two 16x12 latents side by side.
    for (const { preview } of seen) expect((await decode(preview)).meta).toMatchObject({ format: 'jpeg', width: 32, height: 12 });
    expect(new Set(seen.map((s) => s.preview)).size).toBe(2);
  });

  it('change nothing in the images, and are absent without a previewer', async () => {
    const withPreviews = await previewsOf(new LinearPreviewer(2, 'webp'), { imageCount: 1 });
    const without = await previewsOf(undefined, { imageCount: 1 });
    expect(without.seen).toEqual([]);
    expect(withPreviews.seen.length).toBe(3);
    expect(withPreviews.images[0]!.bytes.equals(without.images[0]!.bytes)).toBe(true);
  });

  it('stop with the job: none is sent once it is cancelled', async () => {
    const controller = new AbortController();
    const reports: { step: number; preview?: string }[] = [];
    const run = pipeline.generate(params({ imageCount: 1 }), {
      preview: new LinearPreviewer(3),
      signal: controller.signal,
      onProgress: (progress) => {
        reports.push(progress);
        // Cancelled on the report of step 3, whose preview is then still rendering.
        if (progress.step === 3 && !progress.preview) controller.abort();
      },
    });
    await expect(run).rejects.toMatchObject({ code: 'aborted' });
    expect(reports.at(-1)).toMatchObject({ step: 3 });
    expect(reports.filter((report) => report.preview)).toEqual([]);
  });

  it('come from a TAESD decoder when the model directory has one', async () => {
    const model = join(dir, 'model');
    expect(await findTaesdDecoder(model)).toBeUndefined();
    // The tiny VAE decoder has TAESD's interface: a [1, 4, h, w] latent in, [1, 3, 8h, 8w] in [-1, 1] out.
    await mkdir(join(model, 'taesd_decoder'));
    await copyFile(join(model, 'vae_decoder', 'model.onnx'), join(model, 'taesd_decoder', 'model.onnx'));
    const path = await findTaesdDecoder(model);
    expect(path).toBe(join(model, 'taesd_decoder', 'model.onnx'));

    const taesd = await TaesdPreviewer.load(path!, 3, 'jpeg', { provider: 'cpu' });
    try {
      const { seen } = await previewsOf(taesd, { imageCount: 1, width: 256, height: 192 });
      expect(seen).toHaveLength(2);
      expect(seen[0]!.step).toBeGreaterThanOrEqual(3);
      expect(seen[1]!.step).toBeGreaterThanOrEqual(6);
      // 8x the 32x24 latent is 256x192: within the limit, so not scaled.
      const first = await decode(seen[0]!.preview);
      expect(first.meta).toMatchObject({ format: 'jpeg', width: 256, height: 192 });
      const linear = await previewsOf(new LinearPreviewer(3), { imageCount: 1, width: 256, height: 192 });
      expect((await decode(linear.seen[0]!.preview)).meta).toMatchObject({ width: 32, height: 24 });
    } finally {
      await taesd.release();
    }
  });
});
