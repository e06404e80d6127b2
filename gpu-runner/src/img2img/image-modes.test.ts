import { createHash } from 'node:crypto';
import { copyFile, cp, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import type { ResolvedJobParams } from '@atelier/protocol';
import { describe, expect, it } from 'vitest';
import { useTinyPipeline } from '../../test/tiny-pipeline.js';
import { OnnxSession } from '../onnx/onnx-session.js';
import { toRgb8 } from '../pipeline/image-output.js';
import { LinearPreviewer } from '../pipeline/preview.js';
import { SdxlPipeline } from '../pipeline/sdxl-pipeline.js';
import type { LocalAsset } from '../runner/asset-cache.js';
import { FIDELITY_EDGE_BAND, productFidelity } from './background.js';
import { decodeRgb, type Pixels } from './image-io.js';
import { decodeLatents, encodeLatents } from './vae.js';

const tiny = useTinyPipeline('image-modes');

const params = (overrides: Partial<ResolvedJobParams>): ResolvedJobParams => ({
  prompt: 'product photo of a ceramic mug on a marble counter, soft window light',
  width: 128,
  height: 128,
  steps: 12,
  guidance: 4,
  scheduler: 'euler',
  seed: 77,
  imageCount: 1,
  outputFormat: 'png',
  performance: 'speed',
  ...overrides,
});

/** Writes an image file as a job asset, the way the asset cache hands it over. */
async function asset(kind: LocalAsset['kind'], name: string, bytes: Buffer): Promise<LocalAsset> {
  const path = join(tiny.dir, name);
  await writeFile(path, bytes);
  return { kind, id: `upl_${name.padEnd(20, 'x').slice(0, 20)}`, path, sha256: createHash('sha256').update(bytes).digest('hex') };
}

/** A photo-like RGB test image: smooth gradients with a little texture. */
function photo(width: number, height: number): Buffer {
  const rgb = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const at = (y * width + x) * 3;
      rgb[at] = Math.round(60 + (150 * x) / width + 10 * Math.sin(y / 3));
      rgb[at + 1] = Math.round(90 + (100 * y) / height);
      rgb[at + 2] = Math.round(140 + 40 * Math.cos((x + y) / 9));
    }
  }
  return rgb;
}

const png = (data: Buffer, width: number, height: number, channels: 3 | 4) =>
  sharp(data, { raw: { width, height, channels } }).png().toBuffer();

/** A product on a backdrop: inside the centred rectangle textured colour, outside `backdrop` (RGBA). */
function product(
  width: number,
  height: number,
  backdrop: [number, number, number, number],
): { rgba: Buffer; inside: (x: number, y: number) => boolean } {
  const inside = (x: number, y: number) => x >= width * 0.3 && x < width * 0.7 && y >= height * 0.25 && y < height * 0.8;
  const rgba = Buffer.alloc(width * height * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      rgba.set(
        inside(x, y) ? [150 + ((x * 7) % 60), 40 + ((y * 5) % 50), 30 + ((x + y) % 40), 255] : backdrop,
        (y * width + x) * 4,
      );
    }
  }
  return { rgba, inside };
}

const meanAbs = (a: Pixels, b: Pixels) => {
  let sum = 0;
  for (let i = 0; i < a.data.length; i++) sum += Math.abs(a.data[i]! - b.data[i]!);
  return sum / a.data.length;
};

describe('image modes on the tiny model', () => {
  it('advertises every mode the tiny model directory supports', () => {
    expect([...tiny.pipeline.modes].sort()).toEqual(['background', 'txt2img', 'upscale', 'vary-strong', 'vary-subtle']);
  });

  it('vary re-renders the input, more with vary-strong than with vary-subtle', async () => {
    const input = await asset('input', 'vary.png', await png(photo(128, 128), 128, 128, 3));
    const run = async (mode: 'vary-subtle' | 'vary-strong') => {
      const [image] = await tiny.pipeline.generate(params({ mode }), { assets: [input] });
      return image!;
    };
    const [subtle, strong] = [await run('vary-subtle'), await run('vary-strong')];
    expect(subtle).toMatchObject({ width: 128, height: 128, format: 'png' });
    expect((await run('vary-subtle')).bytes.equals(subtle.bytes)).toBe(true);

    // Against the input as the VAE reproduces it (what a denoise of 0 would give).
    const model = tiny.modelDir;
    const encoder = await OnnxSession.create(join(model, 'vae_encoder/model.onnx'), { provider: 'cpu' });
    const vaeDecoder = await OnnxSession.create(join(model, 'vae_decoder/model.onnx'), { provider: 'cpu' });
    const latents = await encodeLatents(encoder, { data: photo(128, 128), width: 128, height: 128, channels: 3 }, 0.13025);
    const core = { vaeScalingFactor: 0.13025, vaeDecoder } as Parameters<typeof decodeLatents>[0];
    const reconstruction: Pixels = {
      data: toRgb8(await decodeLatents(core, latents, 128, 128), 128, 128),
      width: 128,
      height: 128,
      channels: 3,
    };
    await Promise.all([encoder.release(), vaeDecoder.release()]);

    const [subtleChange, strongChange] = [
      meanAbs(await decodeRgb(subtle.bytes), reconstruction),
      meanAbs(await decodeRgb(strong.bytes), reconstruction),
    ];
    expect(subtleChange).toBeGreaterThan(1);
    expect(strongChange).toBeGreaterThan(subtleChange * 1.2);
  });

  it('counts progress over the steps the truncated schedule runs', async () => {
    const input = await asset('input', 'progress.png', await png(photo(64, 64), 64, 64, 3));
    const seen: number[] = [];
    await tiny.pipeline.generate(params({ mode: 'vary-subtle', width: 64, height: 64, steps: 10 }), {
      assets: [input],
      onProgress: ({ step, steps }) => seen.push(steps) && step,
    });
    expect(new Set(seen)).toEqual(new Set([5]));
  });

  it.each(['vary-strong', 'upscale', 'background'] as const)(
    '%s sends previews every few of its steps, as text-to-image does, and the same image as without',
    async (mode) => {
      const { rgba } = product(64, 64, [0, 0, 0, 0]);
      const input = await asset('input', `preview-${mode}.png`, await png(rgba, 64, 64, 4));
      const job = params({
        mode,
        width: 64,
        height: 64,
        steps: 10,
        ...(mode === 'upscale' && { upscaleFactor: 1.5, width: 96, height: 96 }),
      });
      const seen: { step: number; preview?: string }[] = [];
      const [withPreviews] = await tiny.pipeline.generate(job, {
        assets: [input],
        preview: new LinearPreviewer(2),
        onProgress: ({ step, preview }) => seen.push({ step, ...(preview && { preview }) }),
        ...(mode === 'upscale' && { upscaleTiles: { tile: 8, overlap: 4 } }),
      });
      // vary-strong runs 8 of the 10 steps, upscale 3, background all 10: a preview after
      // every second one but the last.
      const runs = { 'vary-strong': 8, upscale: 3, background: 10 }[mode];
      const previews = seen.filter((report) => report.preview);
      expect(previews).toHaveLength(Math.floor((runs - 1) / 2));
      for (const { preview } of previews) {
        const bytes = Buffer.from(/^data:image\/jpeg;base64,(.+)$/.exec(preview!)![1]!, 'base64');
        // The latent's size: 8x8 for 64 px, 12x12 for 96 px.
        expect(await sharp(bytes).metadata()).toMatchObject({ width: job.width / 8, height: job.height / 8 });
      }
      expect(seen.at(-1)!.preview).toBeUndefined();
      const [without] = await tiny.pipeline.generate(job, {
        assets: [input],
        ...(mode === 'upscale' && { upscaleTiles: { tile: 8, overlap: 4 } }),
      });
      expect(without!.bytes.equals(withPreviews!.bytes)).toBe(true);
    },
  );

  it.each([
    [2, 128],
    [1.5, 96],
  ] as const)('upscale %sx gives the enlarged size', async (factor, side) => {
    const input = await asset('input', `up-${factor}.png`, await png(photo(64, 64), 64, 64, 3));
    const [image] = await tiny.pipeline.generate(params({ mode: 'upscale', upscaleFactor: factor, width: side, height: side }), {
      assets: [input],
      upscaleTiles: { tile: 8, overlap: 4 },
    });
    expect(await sharp(image!.bytes).metadata()).toMatchObject({ width: side, height: side });
  });

  it('blends upscale tiles without a seam where they meet', async () => {
    const input = await asset('input', 'seam.png', await png(photo(64, 64), 64, 64, 3));
    // 16x16 latents in tiles of 8 with 4 shared: tiles start at 0, 4 and 8, so the first
    // tile's right edge is at latent column 8, pixel column 64.
    const [image] = await tiny.pipeline.generate(params({ mode: 'upscale', upscaleFactor: 2, width: 128, height: 128 }), {
      assets: [input],
      upscaleTiles: { tile: 8, overlap: 4 },
    });
    const out = await decodeRgb(image!.bytes);
    const step = (x: number) => {
      let sum = 0;
      for (let y = 0; y < out.height; y++) {
        for (let c = 0; c < 3; c++)
          sum += Math.abs(out.data[(y * out.width + x) * 3 + c]! - out.data[(y * out.width + x - 1) * 3 + c]!);
      }
      return sum / (out.height * 3);
    };
    const neighbours = [56, 58, 60, 62, 66, 68, 70, 72].map(step);
    const typical = neighbours.reduce((a, b) => a + b, 0) / neighbours.length;
    for (const boundary of [32, 64, 96]) expect(step(boundary)).toBeLessThan(typical * 1.5 + 1);
  });

  it('puts a scene around a product cut-out and keeps the product exactly (fidelity 0)', async () => {
    const { rgba, inside } = product(128, 96, [0, 0, 0, 0]);
    const input = await asset('input', 'cutout.png', await png(rgba, 128, 96, 4));
    const [image] = await tiny.pipeline.generate(params({ mode: 'background', width: 128, height: 96 }), { assets: [input] });
    expect(image!.productFidelity).toBe(0);
    const out = await decodeRgb(image!.bytes);
    // The scene is generated: outside the product the pixels vary.
    const outside = new Set<number>();
    for (let y = 0; y < 96; y++) for (let x = 0; x < 128; x++) if (!inside(x, y)) outside.add(out.data[(y * 128 + x) * 3]!);
    expect(outside.size).toBeGreaterThan(20);
  });

  it('finds the product with the segmentation model on a white-backdrop photo (fidelity 0)', async () => {
    const { rgba, inside } = product(128, 128, [255, 255, 255, 255]);
    const rgb = Buffer.alloc(128 * 128 * 3);
    for (let p = 0; p < 128 * 128; p++) rgba.copy(rgb, p * 3, p * 4, p * 4 + 3);
    const input = await asset('input', 'studio.png', await png(rgb, 128, 128, 3));
    const [image] = await tiny.pipeline.generate(params({ mode: 'background', seed: 5 }), { assets: [input] });
    expect(image!.productFidelity).toBe(0);
    const out = await decodeRgb(image!.bytes);
    let kept = 0;
    let replaced = 0;
    for (let y = 0; y < 128; y++) {
      for (let x = 0; x < 128; x++) {
        const same = [0, 1, 2].every((c) => out.data[(y * 128 + x) * 3 + c] === rgb[(y * 128 + x) * 3 + c]);
        if (inside(x, y) && same) kept += 1;
        if (!inside(x, y) && !same) replaced += 1;
      }
    }
    const productPixels = [...Array(128 * 128).keys()].filter((p) => inside(p % 128, Math.floor(p / 128))).length;
    expect(kept).toBe(productPixels);
    expect(replaced).toBeGreaterThan((128 * 128 - productPixels) * 0.9);
  });

  it('takes the product from a mask image when one is given (fidelity 0)', async () => {
    const { rgba, inside } = product(96, 96, [40, 80, 120, 255]);
    const mask = Buffer.alloc(96 * 96 * 3);
    for (let p = 0; p < 96 * 96; p++) mask.fill(inside(p % 96, Math.floor(p / 96)) ? 255 : 0, p * 3, p * 3 + 3);
    const assets = [
      await asset('input', 'masked.png', await png(rgba, 96, 96, 4)),
      await asset('mask', 'mask.png', await png(mask, 96, 96, 3)),
    ];
    const [image] = await tiny.pipeline.generate(params({ mode: 'background', width: 96, height: 96 }), { assets });
    expect(image!.productFidelity).toBe(0);
  });
});

describe('background with an inpainting UNet', () => {
  /** A copy of the tiny model directory with `unet_inpaint/` changed by `edit`. */
  async function modelVariant(name: string, edit: (dir: string) => Promise<void>): Promise<string> {
    const dir = join(tiny.dir, name);
    await cp(tiny.modelDir, dir, { recursive: true });
    await edit(dir);
    return dir;
  }

  it('paints the scene with the 9-channel UNet when the directory has one, and keeps the product exactly', async () => {
    expect(tiny.pipeline.inpaints).toBe(true);
    const { rgba } = product(96, 96, [0, 0, 0, 0]);
    const input = await asset('input', 'inpaint.png', await png(rgba, 96, 96, 4));
    const job = params({ mode: 'background', width: 96, height: 96 });
    const [inpainted] = await tiny.pipeline.generate(job, { assets: [input] });

    const blendDir = await modelVariant('model-without-inpaint', (dir) => rm(join(dir, 'unet_inpaint'), { recursive: true }));
    const blending = await SdxlPipeline.load(blendDir, { provider: 'cpu' });
    try {
      expect(blending.inpaints).toBe(false);
      const [blended] = await blending.generate(job, { assets: [input] });
      expect(inpainted!.productFidelity).toBe(0);
      expect(blended!.productFidelity).toBe(0);
      // Same seed and prompt, another model painting the scene.
      const [a, b] = [await decodeRgb(inpainted!.bytes), await decodeRgb(blended!.bytes)];
      expect(meanAbs(a, b)).toBeGreaterThan(1);
    } finally {
      await blending.dispose();
    }
  });

  it('refuses an unet_inpaint whose sample is not 9 channels', async () => {
    const dir = await modelVariant('model-bad-inpaint', (dir) =>
      copyFile(join(dir, 'unet', 'model.onnx'), join(dir, 'unet_inpaint', 'model.onnx')),
    );
    await expect(SdxlPipeline.load(dir, { provider: 'cpu' })).rejects.toMatchObject({
      code: 'model_invalid',
      message: expect.stringContaining('9') as string,
    });
  });
});

describe('productFidelity', () => {
  const size = 32;
  const mask = new Uint8Array(size * size).map((_, p) =>
    p % size >= 8 && p % size < 24 && p >= 8 * size && p < 24 * size ? 255 : 0,
  );
  const input: Pixels = { data: Buffer.from(photo(size, size)), width: size, height: size, channels: 3 };

  it('is the largest difference inside the product, away from its edge band', () => {
    expect(productFidelity(input, input, mask)).toBe(0);
    const changed: Pixels = { ...input, data: Buffer.from(input.data) };
    changed.data[(16 * size + 16) * 3 + 1] = changed.data[(16 * size + 16) * 3 + 1]! + 9; // the middle of the product
    expect(productFidelity(input, changed, mask)).toBe(9);
  });

  it('leaves out the edge band and the scene', () => {
    const changed: Pixels = { ...input, data: Buffer.from(input.data) };
    changed.data[(8 * size + 8) * 3] = 0; // a product corner, inside the band
    changed.data[(2 * size + 2) * 3] = 0; // the scene
    expect(productFidelity(input, changed, mask)).toBe(0);
    changed.data[((8 + FIDELITY_EDGE_BAND) * size + 8 + FIDELITY_EDGE_BAND) * 3] = 255;
    expect(productFidelity(input, changed, mask)).toBeGreaterThan(0);
  });
});
