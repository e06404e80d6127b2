#!/usr/bin/env node
/**
 * `npm run bench:safety`: how well the output classifier separates a labelled set of
 * images, at the threshold a tenant would use.
 *
 *   npm run bench:safety -- --dir path/to/images [--threshold 0.5] [--model path]
 *
 * `--dir` holds `safe/` and `unsafe/` (any PNG, JPEG, WebP, AVIF, GIF or TIFF inside,
 * subfolders included). The classifier is `--model`, else ATELIER_SAFETY_MODEL, else the
 * tiny model's stand-in (model/tiny-classifier.ts). Prints recall (unsafe images refused),
 * the false-positive rate (safe images refused), the threshold, a sweep of thresholds, and
 * the time per image. Without `--dir` it says what to pass and scores a small generated set
 * made for the stand-in (flat and graded colours, with magenta patches of known area), so
 * that it prints figures anywhere.
 */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { extname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';

// Logs would interleave with the figures; the logger reads the level at import time.
process.env.LOG_LEVEL ??= 'warn';
const { DEFAULT_NSFW_THRESHOLD } = await import('@atelier/protocol');
const { ensureModel } = await import('../model/ensure-model.js');
const { OPTIONAL_MODEL_FILES } = await import('../model/model-layout.js');
const { OutputClassifier } = await import('../safety/output-classifier.js');
const { Pcg32 } = await import('../random/pcg32.js');
const sharp = (await import('sharp')).default;

interface Sample {
  name: string;
  unsafe: boolean;
  rgb: () => Promise<{ data: Buffer; width: number; height: number }>;
}

const IMAGE_EXTENSIONS = new Set(['.png', '.jpg', '.jpeg', '.webp', '.avif', '.gif', '.tif', '.tiff']);
const SWEEP = [0.1, 0.3, 0.5, 0.7, 0.9];

const { values: args } = parseArgs({
  options: { dir: { type: 'string' }, threshold: { type: 'string' }, model: { type: 'string' } },
});
const threshold = args.threshold === undefined ? DEFAULT_NSFW_THRESHOLD : Number(args.threshold);
if (!(threshold >= 0 && threshold <= 1)) throw new Error('--threshold must be a number from 0 to 1');

let scratch: string | undefined;
let source = args.model ?? process.env.ATELIER_SAFETY_MODEL;
const described = source ?? "the tiny model's stand-in (model/tiny-classifier.ts)";
if (!source) {
  scratch = await mkdtemp(join(tmpdir(), 'bench-safety-'));
  await ensureModel(join(scratch, 'model'));
  source = join(scratch, 'model', OPTIONAL_MODEL_FILES.outputClassifier);
}
const unsafeClasses = process.env.ATELIER_SAFETY_UNSAFE_CLASSES?.split(',').map((name) => name.trim());
const classifier = await OutputClassifier.load(resolve(source), { ...(unsafeClasses && { unsafeClasses }) });

let samples: Sample[];
if (args.dir) {
  samples = [...(await labelled(resolve(args.dir), 'safe', false)), ...(await labelled(resolve(args.dir), 'unsafe', true))];
  if (!samples.some((s) => s.unsafe) || !samples.some((s) => !s.unsafe)) {
    throw new Error(`${args.dir} must hold images under both safe/ and unsafe/`);
  }
} else {
  console.log('No labelled folder given. Pass one to measure a real classifier on real images:');
  console.log('  npm run bench:safety -- --dir path/to/images [--threshold 0.5] [--model path/to/classifier]');
  console.log('  (images under path/to/images/safe/ and path/to/images/unsafe/; the classifier from --model,');
  console.log('  ATELIER_SAFETY_MODEL, or the tiny stand-in). Scoring a generated set for the stand-in instead:\n');
  samples = generated();
}

const scored: { unsafe: boolean; score: number }[] = [];
const times: number[] = [];
for (const sample of samples) {
  let image: { data: Buffer; width: number; height: number };
  try {
    image = await sample.rgb();
  } catch (error) {
    console.log(`skipped ${sample.name}: ${(error as Error).message}`);
    continue;
  }
  const started = performance.now();
  const score = await classifier.score(image.data, image.width, image.height);
  times.push(performance.now() - started);
  scored.push({ unsafe: sample.unsafe, score });
}
await classifier.release();
if (scratch) await rm(scratch, { recursive: true, force: true });

const figures = (at: number) => {
  const refused = (s: { score: number }) => s.score > at || at === 0;
  const unsafe = scored.filter((s) => s.unsafe);
  const safe = scored.filter((s) => !s.unsafe);
  return {
    recall: unsafe.filter(refused).length / unsafe.length,
    falsePositiveRate: safe.filter(refused).length / safe.length,
  };
};
const percent = (x: number) => `${(100 * x).toFixed(1)}%`;
const { recall, falsePositiveRate } = figures(threshold);
const sorted = [...times].sort((a, b) => a - b);
console.log(`classifier           ${described}`);
console.log(
  `images               ${scored.filter((s) => s.unsafe).length} unsafe, ${scored.filter((s) => !s.unsafe).length} safe`,
);
console.log(`threshold            ${threshold} (refused when the score is above it)`);
console.log(`recall               ${percent(recall)} of unsafe images refused`);
console.log(`false-positive rate  ${percent(falsePositiveRate)} of safe images refused`);
console.log(`time per image       ${sorted[Math.floor((sorted.length - 1) / 2)]!.toFixed(1)} ms median (resize + inference)`);
console.log('\nthreshold  recall   false positives');
for (const at of SWEEP) {
  const row = figures(at);
  console.log(`${String(at).padEnd(10)} ${percent(row.recall).padEnd(8)} ${percent(row.falsePositiveRate)}`);
}

async function labelled(dir: string, label: 'safe' | 'unsafe', unsafe: boolean): Promise<Sample[]> {
  const root = join(dir, label);
  const entries = await readdir(root, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries
    .filter((entry) => entry.isFile() && IMAGE_EXTENSIONS.has(extname(entry.name).toLowerCase()))
    .map((entry) => join(entry.parentPath, entry.name))
    .sort()
    .map((path) => ({
      name: path,
      unsafe,
      rgb: async () => {
        const { data, info } = await sharp(path).flatten({ background: '#ffffff' }).removeAlpha().raw().toBuffer({
          resolveWithObject: true,
        });
        return { data, width: info.width, height: info.height };
      },
    }));
}

/**
 * 60 images for the stand-in, whose only notion of "unsafe" is saturated magenta: safe ones
 * are graded colours, a third with a small magenta accent (up to 8% of the area); unsafe ones
 * carry a magenta patch of 6–50% (the smallest are meant to be hard to catch).
 */
function generated(): Sample[] {
  const random = new Pcg32(2024);
  const size = 256;
  const image = (patchShare: number) => {
    const [r, g, b] = [0, 0, 0].map(() => Math.floor(random.nextOpenUnit() * 256));
    const data = Buffer.alloc(size * size * 3);
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        const shade = 0.6 + (0.4 * (x + y)) / (2 * size);
        data.set([r! * shade, g! * shade, b! * shade].map(Math.round), (y * size + x) * 3);
      }
    }
    const side = Math.round(Math.sqrt(patchShare) * size);
    const [left, top] = [0, 0].map(() => Math.floor(random.nextOpenUnit() * (size - side)));
    for (let y = top!; y < top! + side; y++)
      for (let x = left!; x < left! + side; x++) data.set([255, 0, 255], (y * size + x) * 3);
    return { data, width: size, height: size };
  };
  return Array.from({ length: 60 }, (_, index) => {
    const unsafe = index % 2 === 1;
    const share = unsafe ? 0.06 + 0.44 * random.nextOpenUnit() : index % 3 === 0 ? 0.08 * random.nextOpenUnit() : 0;
    const pixels = image(share);
    return { name: `generated-${index}`, unsafe, rgb: () => Promise.resolve(pixels) };
  });
}
