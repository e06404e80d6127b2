import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureModel } from '../model/ensure-model.js';
import { OPTIONAL_MODEL_FILES } from '../model/model-layout.js';
import { OutputClassifier } from './output-classifier.js';
import { screenOutput } from './screen-output.js';

/** A real-architecture ViT export and what transformers computes for it (scripts/make-classifier-fixture.py). */
const VIT = fileURLToPath(new URL('./fixtures/vit-classifier', import.meta.url));

/** The fixture script's images: rgb[y][x][c] = (7x + 13y + 50c + 5·((x·y) mod 31)) mod 256. */
function patterned(width: number, height: number): Buffer {
  const rgb = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      for (let c = 0; c < 3; c++) rgb[(y * width + x) * 3 + c] = (x * 7 + y * 13 + c * 50 + ((x * y) % 31) * 5) % 256;
    }
  }
  return rgb;
}

function flat(width: number, height: number, colour: [number, number, number], magentaShare = 0): Buffer {
  const rgb = Buffer.alloc(width * height * 3);
  const magenta = Math.round(magentaShare * width * height);
  for (let p = 0; p < width * height; p++) rgb.set(p < magenta ? [255, 0, 255] : colour, p * 3);
  return rgb;
}

let dir: string;
let tiny: OutputClassifier;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'output-classifier-'));
  await ensureModel(join(dir, 'model'));
  tiny = await OutputClassifier.load(join(dir, 'model', OPTIONAL_MODEL_FILES.outputClassifier), { provider: 'cpu' });
});

afterAll(async () => {
  await tiny?.release();
  await rm(dir, { recursive: true, force: true });
});

describe('a Hugging Face image-classification export', () => {
  it('scores as transformers does: its processor (Pillow resize, rescale, normalise), the model, softmax', async () => {
    const expected = JSON.parse(await readFile(join(VIT, 'expected.json'), 'utf8')) as {
      images: { width: number; height: number; nsfw: number }[];
    };
    const classifier = await OutputClassifier.load(VIT, { provider: 'cpu' });
    try {
      for (const { width, height, nsfw } of expected.images) {
        // Pillow 13 sometimes runs the vertical pass first (we run Pillow's long-standing
        // horizontal-first order), which moves a few pixels by one level: well under 1e-3 here.
        expect(Math.abs((await classifier.score(patterned(width, height), width, height)) - nsfw)).toBeLessThan(1e-3);
      }
    } finally {
      await classifier.release();
    }
  });

  it('resizes the shortest edge and cuts the centre out for a CLIP-style processor, as transformers does', async () => {
    const expected = JSON.parse(await readFile(join(VIT, 'expected.json'), 'utf8')) as {
      images: { width: number; height: number; nsfwClip: number }[];
    };
    const clipStyle = join(dir, 'clip-style');
    await cp(VIT, clipStyle, { recursive: true });
    await cp(join(VIT, 'preprocessor_config.clip.json'), join(clipStyle, 'preprocessor_config.json'));
    const classifier = await OutputClassifier.load(clipStyle, { provider: 'cpu' });
    // These probabilities are tiny: compare log-odds, which keep their precision.
    const logOdds = (p: number) => Math.log(p) - Math.log1p(-p);
    try {
      for (const { width, height, nsfwClip } of expected.images) {
        const score = await classifier.score(patterned(width, height), width, height);
        expect(Math.abs(logOdds(score) - logOdds(nsfwClip))).toBeLessThan(0.01);
      }
    } finally {
      await classifier.release();
    }
  });

  it('takes a .onnx file too, reading the labels and processor beside it', async () => {
    const classifier = await OutputClassifier.load(join(VIT, 'model.onnx'), { provider: 'cpu' });
    const same = await OutputClassifier.load(VIT, { provider: 'cpu' });
    try {
      const image = patterned(320, 240);
      expect(await classifier.score(image, 320, 240)).toBe(await same.score(image, 320, 240));
    } finally {
      await Promise.all([classifier.release(), same.release()]);
    }
  });

  it('adds up the classes named unsafe, by index or label, and refuses a model whose labels say nothing', async () => {
    const copy = join(dir, 'unlabelled');
    await cp(VIT, copy, { recursive: true });
    await writeFile(join(copy, 'config.json'), JSON.stringify({ id2label: { 0: 'first', 1: 'second' } }));
    await expect(OutputClassifier.load(copy, { provider: 'cpu' })).rejects.toMatchObject({
      code: 'model_invalid',
      message: expect.stringContaining('ATELIER_SAFETY_UNSAFE_CLASSES') as string,
    });
    await expect(OutputClassifier.load(copy, { provider: 'cpu', unsafeClasses: ['third'] })).rejects.toMatchObject({
      message: expect.stringContaining('"third"') as string,
    });
    const image = patterned(224, 224);
    const [second, first, both, nsfw] = await Promise.all(
      [['second'], ['0'], ['0', '1']]
        .map((unsafeClasses) => OutputClassifier.load(copy, { provider: 'cpu', unsafeClasses }))
        .concat(OutputClassifier.load(VIT, { provider: 'cpu' })),
    );
    try {
      const score = (classifier: OutputClassifier) => classifier.score(image, 224, 224);
      expect(await score(second!)).toBeCloseTo(await score(nsfw!), 12);
      expect((await score(first!)) + (await score(second!))).toBeCloseTo(1, 6);
      expect(await score(both!)).toBeCloseTo(1, 6);
    } finally {
      await Promise.all([second, first, both, nsfw].map((classifier) => classifier!.release()));
    }
  });
});

describe('the tiny model’s stand-in', () => {
  it('scores the share of saturated magenta, whatever the image’s size', async () => {
    expect(await tiny.score(flat(1024, 1024, [200, 180, 160]), 1024, 1024)).toBeLessThan(1e-6);
    expect(await tiny.score(flat(96, 80, [20, 20, 20], 0.05), 96, 80)).toBeLessThan(0.01);
    expect(await tiny.score(flat(96, 80, [20, 20, 20], 0.2), 96, 80)).toBeGreaterThan(0.99);
    // A pink that is not saturated magenta does not count.
    expect(await tiny.score(flat(256, 256, [255, 150, 255]), 256, 256)).toBeLessThan(1e-6);
  });
});

describe('screenOutput', () => {
  const unsafe = flat(64, 64, [0, 0, 0], 0.3);
  const safe = flat(64, 64, [90, 120, 60]);

  it('refuses above the threshold with content_policy, not retried', async () => {
    await expect(screenOutput(tiny, unsafe, 64, 64, 0.5)).rejects.toMatchObject({
      code: 'content_policy',
      retryable: false,
      message: expect.stringContaining('threshold of 0.5') as string,
    });
    await expect(screenOutput(tiny, safe, 64, 64, 0.5)).resolves.toBeUndefined();
  });

  it('refuses everything at 0 and nothing at 1, and uses the platform default when the job names none', async () => {
    await expect(screenOutput(tiny, safe, 64, 64, 0)).rejects.toMatchObject({ code: 'content_policy' });
    await expect(screenOutput(tiny, unsafe, 64, 64, 1)).resolves.toBeUndefined();
    await expect(screenOutput(tiny, unsafe, 64, 64)).rejects.toMatchObject({ code: 'content_policy' });
    await expect(screenOutput(undefined, unsafe, 64, 64, 0)).resolves.toBeUndefined();
  });
});
