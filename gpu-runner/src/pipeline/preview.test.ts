import { copyFile, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import type { ResolvedJobParams } from '@atelier/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureModel } from '../model/ensure-model.js';
import { LinearPreviewer, encodePreview, latentToRgb, previewDue, type Previewer } from './preview.js';
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
  const images = await pipeline.generate(params(overrides), {
    preview,
    onProgress: (progress) => {
      if (progress.preview) seen.push({ step: progress.step, preview: progress.preview });
    },
  });
  return { seen, images };
}

describe('previews during a job', () => {
  it('come with the progress of every third step, at the latent size', async () => {
    const { seen } = await previewsOf(new LinearPreviewer(3));
    // 2 images x 7 steps, sampled together (one UNet call a step advances both): steps 3
    // and 6 of the pair, counted over the job, each a preview of the first image.
    expect(seen.map((s) => s.step)).toEqual([6, 12]);
    for (const { preview } of seen) expect((await decode(preview)).meta).toMatchObject({ format: 'jpeg', width: 16, height: 12 });
    expect(new Set(seen.map((s) => s.preview)).size).toBe(2);
  });

  it('change nothing in the images, and are absent without a previewer', async () => {
    const withPreviews = await previewsOf(new LinearPreviewer(2, 'webp'), { imageCount: 1 });
    const without = await previewsOf(undefined, { imageCount: 1 });
    expect(without.seen).toEqual([]);
    expect(withPreviews.seen.length).toBe(3);
    expect(withPreviews.images[0]!.bytes.equals(without.images[0]!.bytes)).toBe(true);
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
      expect(seen.map((s) => s.step)).toEqual([3, 6]);
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
