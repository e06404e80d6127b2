import { cp, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SCHEDULERS, type ResolvedJobParams } from '@atelier/protocol';
import { describe, expect, it } from 'vitest';
import { useTinyPipeline } from '../../test/tiny-pipeline.js';
import { ensureModel } from '../model/ensure-model.js';
import { MODEL_FILES } from '../model/model-layout.js';
import { ClipTokenizer } from '../tokenizer/clip-tokenizer.js';
import { SdxlPipeline } from './sdxl-pipeline.js';

const tiny = useTinyPipeline('sdxl-options');

const params = (overrides: Partial<ResolvedJobParams> = {}): ResolvedJobParams => ({
  prompt: 'product photo of a leather handbag on a white background, studio lighting',
  width: 64,
  height: 64,
  steps: 4,
  guidance: 6,
  scheduler: 'euler',
  seed: 77,
  imageCount: 1,
  outputFormat: 'png',
  performance: 'speed',
  ...overrides,
});

const bytes = async (p: ResolvedJobParams, on: SdxlPipeline = tiny.pipeline) => (await on.generate(p))[0]!.bytes;
const same = async (a: Partial<ResolvedJobParams>, b: Partial<ResolvedJobParams>) =>
  (await bytes(params(a))).equals(await bytes(params(b)));

describe('SdxlPipeline schedulers', () => {
  it.each(SCHEDULERS)('%s: same seed, same bytes; another seed or sampler, other bytes', async (scheduler) => {
    const first = await bytes(params({ scheduler }));
    expect(first.equals(await bytes(params({ scheduler })))).toBe(true);
    expect(first.equals(await bytes(params({ scheduler, seed: 78 })))).toBe(false);
    if (scheduler !== 'euler') expect(first.equals(await bytes(params()))).toBe(false);
  });

  it('honours a timestep spacing override (trailing, for Lightning-style models)', async () => {
    expect(await same({ timestepSpacing: 'leading' }, {})).toBe(true); // the model's own spacing
    expect(await same({ timestepSpacing: 'trailing' }, {})).toBe(false);
  });
});

describe('SdxlPipeline negative prompts', () => {
  it('uses zero embeddings only when no negative prompt is given; an explicit "" is encoded', async () => {
    expect(await same({}, { negativePrompt: '' })).toBe(false);
    expect(await same({ negativePrompt: '' }, { negativePrompt: '' })).toBe(true);
  });

  it('encodes "" for a missing negative prompt when the model does not force zeros', async () => {
    const modelDir = join(tiny.dir, 'no-zeros');
    await ensureModel(modelDir);
    const indexPath = join(modelDir, MODEL_FILES.index);
    const index = JSON.parse(await readFile(indexPath, 'utf8')) as Record<string, unknown>;
    await writeFile(indexPath, JSON.stringify({ ...index, force_zeros_for_empty_prompt: false }));
    const other = await SdxlPipeline.load(modelDir, { provider: 'cpu' });
    try {
      expect((await bytes(params(), other)).equals(await bytes(params({ negativePrompt: '' }), other))).toBe(true);
      expect((await bytes(params(), other)).equals(await bytes(params()))).toBe(false);
    } finally {
      await other.dispose();
    }
  });
});

describe('SdxlPipeline tokenizer directories', () => {
  it('loads a model whose tokenizers hold only tokenizer.json + tokenizer_config.json, with the same result', async () => {
    const modelDir = join(tiny.dir, 'tokenizer-json');
    await ensureModel(modelDir);
    for (const folder of [MODEL_FILES.tokenizer, MODEL_FILES.tokenizer2]) {
      // Saved by transformers' save_pretrained from this very model (scripts/make-tokenizer-fixture.py).
      await rm(join(modelDir, folder), { recursive: true });
      await cp(new URL(`../tokenizer/fixtures/tiny-tokenizer-json/${folder}/`, import.meta.url), join(modelDir, folder), {
        recursive: true,
      });
    }
    const other = await SdxlPipeline.load(modelDir, { provider: 'cpu' });
    try {
      const p = params({ negativePrompt: 'blurry!' });
      expect((await bytes(p, other)).equals(await bytes(p))).toBe(true);
    } finally {
      await other.dispose();
    }
  });
});

describe('SdxlPipeline second-encoder prompts', () => {
  it('sends prompt2 to the second encoder, defaulting to the prompt', async () => {
    expect(await same({ prompt2: params().prompt }, {})).toBe(true);
    expect(await same({ prompt2: 'a ceramic coffee mug' }, {})).toBe(false);
  });

  it('sends negativePrompt2 to the second encoder, defaulting to the negative prompt', async () => {
    const negativePrompt = 'blurry, low quality';
    expect(await same({ negativePrompt, negativePrompt2: negativePrompt }, { negativePrompt })).toBe(true);
    expect(await same({ negativePrompt, negativePrompt2: 'oversaturated' }, { negativePrompt })).toBe(false);
  });
});

describe('SdxlPipeline clip skip', () => {
  it('is the penultimate layer by default and moves one layer down per skipped layer', async () => {
    expect(await same({ clipSkip: 0 }, {})).toBe(true);
    expect(await same({ clipSkip: 1 }, {})).toBe(false);
  });

  it('refuses to skip more layers than the encoders have', async () => {
    await expect(tiny.pipeline.generate(params({ clipSkip: 24 }))).rejects.toMatchObject({ code: 'invalid_params' });
    await expect(tiny.pipeline.generate(params({ clipSkip: 24 }))).rejects.toThrow(/clipSkip must be an integer from 0 to \d+/);
  });
});

describe('SdxlPipeline guidance rescale', () => {
  it('is off at 0 and changes the image when set', async () => {
    expect(await same({ guidanceRescale: 0 }, {})).toBe(true);
    expect(await same({ guidanceRescale: 0.7 }, {})).toBe(false);
  });

  it('does nothing without guidance', async () => {
    expect(await same({ guidance: 1, guidanceRescale: 0.7 }, { guidance: 1 })).toBe(true);
  });
});

describe('SdxlPipeline size conditioning', () => {
  it('defaults to the image size and a (0, 0) crop, and changes the image when set', async () => {
    const defaults = {
      originalSize: { width: 64, height: 64 },
      cropTopLeft: { top: 0, left: 0 },
      targetSize: { width: 64, height: 64 },
    };
    expect(await same(defaults, {})).toBe(true);
    expect(await same({ originalSize: { width: 1024, height: 1024 } }, {})).toBe(false);
    expect(await same({ cropTopLeft: { top: 16, left: 0 } }, {})).toBe(false);
    expect(await same({ targetSize: { width: 1024, height: 768 } }, {})).toBe(false);
  });
});

describe('SdxlPipeline long prompts', () => {
  const long = (tail: string) => `${Array.from({ length: 30 }, (_, i) => `detail ${i},`).join(' ')} ${tail}`;

  it('encodes the words past 75 tokens in another window instead of dropping them', async () => {
    expect(await same({ prompt: long('on marble') }, { prompt: long('on marble') })).toBe(true);
    expect(await same({ prompt: long('on marble') }, { prompt: long('in a forest') })).toBe(false);
  });

  it('guides with a negative prompt of another length, batched (tiled) or one branch at a time', async () => {
    // 2 windows against 1 share a batch by tiling; 5 or more against 1 run the branches apart.
    const tokenizer = await ClipTokenizer.fromDirectory(join(tiny.dir, 'model', MODEL_FILES.tokenizer));
    const tiled = long('blurry');
    const apart = `${long('x')} ${long('y')} ${long('z')}`;
    expect(tokenizer.encodeChunks(params().prompt)).toHaveLength(1);
    expect(tokenizer.encodeChunks(tiled)).toHaveLength(2);
    expect(tokenizer.encodeChunks(apart).length).toBeGreaterThan(4);
    for (const negativePrompt of [tiled, apart]) {
      const image = await bytes(params({ negativePrompt }));
      expect(image.equals(await bytes(params({ negativePrompt })))).toBe(true);
      expect(image.equals(await bytes(params({ negativePrompt: 'blurry' })))).toBe(false);
    }
  });
});
