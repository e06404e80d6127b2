import { cp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { PERFORMANCE_PRESETS, PERFORMANCES, type ResolvedJobParams } from '@atelier/protocol';
import { describe, expect, it } from 'vitest';
import { useTinyPipeline } from '../../test/tiny-pipeline.js';
import { SdxlPipeline } from './sdxl-pipeline.js';

const tiny = useTinyPipeline('sdxl-text');

const params = (overrides: Partial<ResolvedJobParams> = {}): ResolvedJobParams => ({
  prompt: 'product photo of a leather handbag on white marble, studio lighting',
  width: 64,
  height: 64,
  steps: 6,
  guidance: 4,
  scheduler: 'dpmpp-2m-sde-karras',
  seed: 11,
  imageCount: 1,
  outputFormat: 'png',
  performance: 'speed',
  ...overrides,
});
const bytes = async (overrides: Partial<ResolvedJobParams>) => (await tiny.pipeline.generate(params(overrides)))[0]!.bytes;

describe('SdxlPipeline sharpness', () => {
  it('changes the image only when above 0, and only with guidance', async () => {
    const plain = await bytes({});
    expect((await bytes({ sharpness: 0 })).equals(plain)).toBe(true);
    const sharp = await bytes({ sharpness: 2 });
    expect(sharp.equals(plain)).toBe(false);
    expect((await bytes({ sharpness: 2 })).equals(sharp)).toBe(true);
    // Fooocus skips the whole guided branch, the filter included, at guidance 1.
    expect((await bytes({ guidance: 1, sharpness: 2 })).equals(await bytes({ guidance: 1 }))).toBe(true);
  });
});

describe('SdxlPipeline prompt emphasis', () => {
  it('changes the image with a weight, not with weight 1.0', async () => {
    const plain = await bytes({ prompt: 'a red leather handbag on marble' });
    expect((await bytes({ prompt: 'a (red leather:1.0) handbag on marble' })).equals(plain)).toBe(true);
    expect((await bytes({ prompt: 'a (red leather:1.4) handbag on marble' })).equals(plain)).toBe(false);
  });
});

describe('SdxlPipeline seeds', () => {
  it.each(['dpmpp-2m-sde-karras', 'euler-ancestral'] as const)(
    '%s draws its step noise from the seed: same seed, same bytes',
    async (scheduler) => {
      const first = await bytes({ scheduler, seed: 4242 });
      expect((await bytes({ scheduler, seed: 4242 })).equals(first)).toBe(true);
      expect((await bytes({ scheduler, seed: 4243 })).equals(first)).toBe(false);
    },
  );
});

describe('SdxlPipeline performance presets', () => {
  const lightning = { performance: 'lightning', scheduler: 'euler', timestepSpacing: 'trailing', steps: 4, guidance: 1 } as const;

  it('advertises every preset whose weights the model directory holds, and runs a fast preset on its distilled UNet', async () => {
    expect(tiny.pipeline.performances).toEqual(PERFORMANCES);
    const distilled = await bytes(lightning);
    expect((await bytes(lightning)).equals(distilled)).toBe(true);
    // The same sampling on the base UNet gives another image.
    expect((await bytes({ ...lightning, performance: 'speed' })).equals(distilled)).toBe(false);
  });

  it('does not advertise a preset whose weights are missing, and refuses its jobs naming the file', async () => {
    const partial = join(tiny.dir, 'partial');
    await cp(tiny.modelDir, partial, { recursive: true });
    await rm(join(partial, PERFORMANCE_PRESETS.lightning.weights!.unet), { recursive: true });
    const without = await SdxlPipeline.load(partial, { provider: 'cpu' });
    try {
      expect(without.performances).toEqual(['quality', 'speed', 'extreme-speed']);
      await expect(without.generate(params(lightning))).rejects.toMatchObject({
        code: 'invalid_params',
        message: expect.stringContaining('unet_lightning/model.onnx'),
      });
      expect(
        (await without.generate(params({ performance: 'extreme-speed', scheduler: 'lcm', steps: 4, guidance: 1 }))).length,
      ).toBe(1);
    } finally {
      await without.dispose();
    }
  });
});

describe('SdxlPipeline batches', () => {
  it.each(['dpmpp-2m-sde-karras', 'euler-ancestral'] as const)(
    '%s: a batch of 3 in one UNet call gives the bytes of three single runs with seeds seed, seed+1, seed+2',
    async (scheduler) => {
      const job = { scheduler, sharpness: 2, seed: 300 };
      const batch = await tiny.pipeline.generate(params({ ...job, imageCount: 3 }));
      expect(batch.map((image) => image.seed)).toEqual([300, 301, 302]);
      for (const [i, image] of batch.entries()) {
        expect(image.bytes.equals(await bytes({ ...job, seed: 300 + i }))).toBe(true);
      }
      expect(batch[0]!.bytes.equals(batch[1]!.bytes)).toBe(false);
    },
  );
});
