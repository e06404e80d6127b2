import { join } from 'node:path';
import sharp from 'sharp';
import type { JobProgress, ResolvedJobParams } from '@atelier/protocol';
import { describe, expect, it } from 'vitest';
import { useTinyPipeline } from '../../test/tiny-pipeline.js';
import { PipelineError } from '../errors/pipeline-error.js';
import { SdxlPipeline } from './sdxl-pipeline.js';

const tiny = useTinyPipeline('sdxl-pipeline');

const params = (overrides: Partial<ResolvedJobParams> = {}): ResolvedJobParams => ({
  prompt: 'product photo of a leather handbag on a white background, studio lighting',
  negativePrompt: '',
  width: 128,
  height: 128,
  steps: 4,
  guidance: 6,
  scheduler: 'euler',
  seed: 1234,
  imageCount: 1,
  outputFormat: 'png',
  performance: 'speed',
  ...overrides,
});

const only = async (p: ResolvedJobParams) => {
  const images = await tiny.pipeline.generate(p);
  expect(images).toHaveLength(1);
  return images[0]!;
};

describe('SdxlPipeline.generate', () => {
  it('reports the execution provider it runs on', () => {
    expect(tiny.pipeline.device).toBe('cpu');
  });

  it('is byte-for-byte deterministic for a seed and changes with the seed and the prompt', async () => {
    const first = await only(params());
    const again = await only(params());
    expect(first.bytes.equals(again.bytes)).toBe(true);
    expect(first.seed).toBe(1234);

    const otherSeed = await only(params({ seed: 1235 }));
    expect(otherSeed.bytes.equals(first.bytes)).toBe(false);
    const otherPrompt = await only(params({ prompt: 'a ceramic coffee mug on a wooden table' }));
    expect(otherPrompt.bytes.equals(first.bytes)).toBe(false);
    const negative = await only(params({ negativePrompt: 'blurry, low quality' }));
    expect(negative.bytes.equals(first.bytes)).toBe(false);
    const unguided = await only(params({ guidance: 1 }));
    expect(unguided.bytes.equals(first.bytes)).toBe(false);

    const webp = await only(params({ outputFormat: 'webp' }));
    expect(webp.bytes.equals((await only(params({ outputFormat: 'webp' }))).bytes)).toBe(true);
  });

  it('guides with [uncond, cond]: a negative prompt equal to the prompt cancels guidance exactly', async () => {
    // uncond + g * (cond - uncond) = cond when both halves of the batch are the same prompt.
    const unguided = await only(params({ guidance: 1, width: 64, height: 64 }));
    const cancelled = await only(params({ guidance: 5, negativePrompt: params().prompt, width: 64, height: 64 }));
    expect(cancelled.bytes.equals(unguided.bytes)).toBe(true);
  });

  it('gives image i of a job the seed seed + i, identical to a single-image job with that seed', async () => {
    const images = await tiny.pipeline.generate(params({ imageCount: 2, width: 64, height: 64 }));
    expect(images.map((image) => image.seed)).toEqual([1234, 1235]);
    const single = await only(params({ seed: 1235, width: 64, height: 64 }));
    expect(images[1]!.bytes.equals(single.bytes)).toBe(true);
  });

  it('returns an image of the requested size and format with widely varied pixels', async () => {
    for (const format of ['png', 'webp'] as const) {
      const image = await only(params({ width: 192, height: 128, outputFormat: format }));
      expect([image.width, image.height, image.format]).toEqual([192, 128, format]);
      const metadata = await sharp(image.bytes).metadata();
      expect([metadata.format, metadata.width, metadata.height, metadata.channels]).toEqual([format, 192, 128, 3]);
      const data = await sharp(image.bytes).raw().toBuffer();

      let sum = 0;
      let squares = 0;
      const distinct = new Set<number>();
      for (const v of data) {
        sum += v;
        squares += v * v;
        distinct.add(v);
      }
      const mean = sum / data.length;
      const std = Math.sqrt(squares / data.length - mean * mean);
      expect(distinct.size).toBeGreaterThan(100);
      expect(std).toBeGreaterThan(15);
      expect(mean).toBeGreaterThan(40);
      expect(mean).toBeLessThan(215);
    }
  });

  it('reports progress after every step, counted over all images, with stage changes', async () => {
    const events: JobProgress[] = [];
    await tiny.pipeline.generate(params({ imageCount: 2, steps: 3, width: 64, height: 64 }), {
      onProgress: (p) => events.push(p),
    });
    expect(events.every((e) => e.steps === 6)).toBe(true);
    // Both images share each UNet call, so a step advances both.
    expect(events.map((e) => `${e.stage}@${e.step}`)).toEqual([
      'encoding@0',
      'sampling@0',
      'sampling@2',
      'sampling@4',
      'sampling@6',
      'decoding@6',
      'decoding@6',
    ]);
  });

  it('splits the images into UNet batches within the budget, with the same images', async () => {
    const job = params({ imageCount: 3, steps: 3, width: 64, height: 64, seed: 900 });
    const together = await tiny.pipeline.generate(job);
    // A budget of one guided image (2 items of 64²) per call: three calls per step.
    const small = await SdxlPipeline.load(tiny.modelDir, { provider: 'cpu', unetBatchPixels: 2 * 64 * 64 });
    try {
      const events: JobProgress[] = [];
      const apart = await small.generate(job, { onProgress: (p) => events.push(p) });
      expect(apart.map((image) => image.bytes.toString('base64'))).toEqual(
        together.map((image) => image.bytes.toString('base64')),
      );
      expect(events.filter((e) => e.stage === 'sampling').map((e) => e.step)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    } finally {
      await small.dispose();
    }
  });

  it('stops between steps when aborted, with an AbortError', async () => {
    const controller = new AbortController();
    const steps: number[] = [];
    const run = tiny.pipeline.generate(params({ steps: 10, width: 64, height: 64 }), {
      signal: controller.signal,
      onProgress: ({ step, stage }) => {
        if (stage === 'sampling' && step > 0) steps.push(step);
        if (step === 2) controller.abort();
      },
    });
    await expect(run).rejects.toMatchObject({ name: 'AbortError', code: 'aborted', retryable: false });
    expect(steps).toEqual([1, 2]);

    const aborted = AbortSignal.abort();
    await expect(tiny.pipeline.generate(params(), { signal: aborted })).rejects.toMatchObject({ name: 'AbortError' });
    // The pipeline stays usable after an abort.
    expect((await tiny.pipeline.generate(params({ width: 64, height: 64 }))).length).toBe(1);
  });

  it('rejects parameters it cannot execute, as non-retryable errors', async () => {
    const cases: [Partial<ResolvedJobParams>, RegExp][] = [
      [{ width: 100 }, /width must be a multiple of 8/],
      [{ height: 1020 }, /height must be a multiple of 8/],
      [{ width: 32 }, /width must be between 64 and 4096/],
      [{ width: 4096, height: 4096 }, /exceeds this runner's limit/],
      // The wire schema's checks, each naming its field.
      [{ steps: 0 }, /^steps: /],
      [{ imageCount: 1.5 }, /^imageCount: /],
      [{ guidance: Number.NaN }, /^guidance: /],
      [{ seed: -1 }, /^seed: /],
      [{ scheduler: 'ddim' as 'euler' }, /^scheduler: /],
      [{ outputFormat: 'gif' as 'png' }, /^outputFormat: /],
    ];
    for (const [overrides, message] of cases) {
      const run = tiny.pipeline.generate(params(overrides));
      await expect(run).rejects.toBeInstanceOf(PipelineError);
      await expect(run).rejects.toMatchObject({ code: 'invalid_params', retryable: false });
      await expect(run).rejects.toThrow(message);
    }
  });
});

describe('SdxlPipeline lifecycle', () => {
  it('refuses work after dispose with a retryable error', async () => {
    const second = await SdxlPipeline.load(tiny.modelDir, { provider: 'cpu' });
    await second.dispose();
    await expect(second.generate(params())).rejects.toMatchObject({ code: 'unavailable', retryable: true });
  });

  it('rejects a directory that is not an SDXL export', async () => {
    await expect(SdxlPipeline.load(join(tiny.dir, 'nowhere'))).rejects.toMatchObject({ code: 'model_invalid', retryable: false });
  });
});
