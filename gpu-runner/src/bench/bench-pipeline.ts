#!/usr/bin/env node
/**
 * `npm run bench:runner`: times the inference core stage by stage and prints the figures
 * against their goals (host overhead ≤ 1 ms a step, final encode ≤ 40 ms, preview ≤ 5 ms).
 *
 *   BENCH_SIZE=1024x1024 BENCH_STEPS=30 BENCH_RUNS=2 BENCH_GUIDANCE=7 BENCH_SCHEDULER=euler npm run bench:runner
 *
 * Host overhead is a step's wall time minus the time spent inside onnxruntime's
 * `session.run` during it: everything the runner does in JavaScript between UNet calls
 * (scheduler math, guidance, feed checks, tensor wrapping, progress and previews).
 *
 * Uses ATELIER_MODEL_DIR when set (a real Optimum export), else generates the tiny model
 * into a fresh temporary directory so that the generation time is measured too.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';

// Logs would interleave with the table; the logger reads the level at import time.
process.env.LOG_LEVEL ??= 'warn';
const { ensureModel } = await import('../model/ensure-model.js');
const { SdxlPipeline } = await import('../pipeline/sdxl-pipeline.js');
const { inferenceTimes, providerReport } = await import('../onnx/onnx-session.js');
const { LinearPreviewer, latentToRgb } = await import('../pipeline/preview.js');
const { encodeImage, toRgb8 } = await import('../pipeline/image-output.js');
const { ClipTokenizer } = await import('../tokenizer/clip-tokenizer.js');
const { createScheduler } = await import('../schedulers/create-scheduler.js');
const { GaussianNoise } = await import('../random/pcg32.js');
const { applyGuidance, repeat, rescaleGuidance } = await import('../pipeline/tensor-ops.js');
const { OUTPUT_FORMATS, SCHEDULERS } = await import('@atelier/protocol');
const sharp = (await import('sharp')).default;

const [width, height] = (process.env.BENCH_SIZE ?? '1024x1024').split('x').map(Number) as [number, number];
const steps = Number(process.env.BENCH_STEPS ?? 30);
const runs = Number(process.env.BENCH_RUNS ?? 2);
const guidance = Number(process.env.BENCH_GUIDANCE ?? 7);
const schedulerName = (process.env.BENCH_SCHEDULER ?? 'euler') as (typeof SCHEDULERS)[number];
if (!SCHEDULERS.includes(schedulerName)) throw new Error(`BENCH_SCHEDULER must be one of ${SCHEDULERS.join(', ')}`);
const PROMPT = 'product photo of a leather handbag on a white background, studio lighting';
const GOALS = { hostOverheadMs: 1, encodeMs: 40, previewMs: 5 };

const rows: [string, string][] = [];
const ms = (value: number) => `${value.toFixed(value < 10 ? 2 : 0)} ms`;
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor((values.length - 1) / 2)]!;
const goal = (value: number, limit: number) => `${ms(value)}  (goal ≤ ${limit} ms: ${value <= limit ? 'met' : 'MISSED'})`;
const stat = (values: number[]) =>
  `${ms(median(values))} median / ${ms(Math.min(...values))} min / ${ms(Math.max(...values))} max`;
/** Median time of `count` calls of `fn` after two unmeasured ones. */
async function timeIt(count: number, fn: () => unknown): Promise<number> {
  for (let i = 0; i < 2; i++) await fn();
  const times: number[] = [];
  for (let i = 0; i < count; i++) {
    const started = performance.now();
    await fn();
    times.push(performance.now() - started);
  }
  return median(times);
}
const inside = (names: string[]) => {
  const times = inferenceTimes();
  return names.reduce((sum, name) => sum + (times.get(name) ?? 0), 0);
};

let modelDir = process.env.ATELIER_MODEL_DIR;
let scratch: string | undefined;
if (!modelDir) {
  scratch = await mkdtemp(join(tmpdir(), 'bench-tiny-sdxl-'));
  modelDir = join(scratch, 'tiny-sdxl');
  const started = performance.now();
  await ensureModel(modelDir);
  rows.push(['tiny model generation', ms(performance.now() - started)]);
}

try {
  let started = performance.now();
  const pipeline = await SdxlPipeline.load(modelDir);
  rows.push(['pipeline load', ms(performance.now() - started)]);
  const provider = providerReport();
  rows.push([
    'provider',
    `${pipeline.device}${provider?.fallbacks.length ? ` (fell back: ${provider.fallbacks.join('; ')})` : ''}`,
  ]);
  rows.push([
    'job',
    `${width}x${height}, ${steps} steps, ${schedulerName}, guidance ${guidance}${guidance > 1 ? ' (CFG, UNet batch 2)' : ''}, png, previews every 3 steps`,
  ]);

  const tokenizer = await ClipTokenizer.fromDirectory(join(modelDir, 'tokenizer'));
  rows.push(['tokenize (one tokenizer, one prompt)', ms(await timeIt(50, () => tokenizer.encode(PROMPT)))]);

  const previewer = new LinearPreviewer(3);
  const walls: number[] = [];
  const hostOverheads: number[] = [];
  let lastPng: Buffer | undefined;
  for (let run = 1; run <= runs; run++) {
    let previews = 0;
    const marks: { at: number; stage: string; unet: number; text: number; vae: number }[] = [];
    const mark = (stage: string) =>
      marks.push({
        at: performance.now(),
        stage,
        unet: inside(['unet']),
        text: inside(['text_encoder', 'text_encoder_2']),
        vae: inside(['vae_decoder']),
      });
    started = performance.now();
    const [image] = await pipeline.generate(
      {
        prompt: PROMPT,
        width,
        height,
        steps,
        guidance,
        scheduler: schedulerName,
        seed: 42 + run,
        imageCount: 1,
        outputFormat: 'png',
        performance: 'quality',
      },
      {
        preview: previewer,
        // A preview goes out on its own report when it is ready; steps are the reports without one.
        onProgress: ({ stage, preview }) => (preview ? (previews += 1) : mark(stage)),
      },
    );
    mark('done');
    const total = performance.now() - started;
    walls.push(total);
    lastPng = image?.bytes;

    // Marks: encoding, sampling (step 0), sampling × steps, decoding, done.
    const encoding = marks[0]!;
    const samplingStart = marks[1]!;
    const stepMarks = marks.slice(1, 2 + steps);
    const decoding = marks.find((m) => m.stage === 'decoding')!;
    const done = marks.at(-1)!;
    const stepWall = stepMarks.slice(1).map((m, i) => m.at - stepMarks[i]!.at);
    const stepUnet = stepMarks.slice(1).map((m, i) => m.unet - stepMarks[i]!.unet);
    const overhead = stepWall.map((wall, i) => wall - stepUnet[i]!);
    hostOverheads.push(...overhead);
    rows.push([`run ${run}: wall time`, `${ms(total)} (${previews} previews sent)`]);
    rows.push([
      `run ${run}: encode prompts (text encoders)`,
      `${ms(samplingStart.at - encoding.at)} (${ms(samplingStart.text - encoding.text)} inside session.run)`,
    ]);
    rows.push([`run ${run}: UNet step wall`, stat(stepWall)]);
    rows.push([`run ${run}: UNet step inside session.run`, stat(stepUnet)]);
    rows.push([`run ${run}: each step (wall ms)`, stepWall.map((t) => t.toFixed(0)).join(' ')]);
    rows.push([`run ${run}: host overhead per step`, stat(overhead)]);
    rows.push([`run ${run}: VAE decode (session.run)`, ms(done.vae - decoding.vae)]);
    rows.push([
      `run ${run}: to RGB + PNG encode`,
      `${ms(done.at - decoding.at - (done.vae - decoding.vae))} (${((image?.bytes.length ?? 0) / 1024).toFixed(0)} KiB)`,
    ]);
  }
  rows.push([`median wall time of ${runs}`, ms(median(walls))]);
  rows.push(['host overhead per step (median, all runs)', goal(median(hostOverheads), GOALS.hostOverheadMs)]);
  await pipeline.dispose();

  // What the host overhead is made of, on latents of the bench size.
  const latentSize = 4 * (width / 8) * (height / 8);
  const noise = new GaussianNoise(1, 2n);
  const latents = noise.gaussian(latentSize);
  const batched = noise.gaussian(latentSize * 2);
  rows.push(['  of which repeat latents ×2', ms(await timeIt(20, () => repeat(latents, 2)))]);
  rows.push(['  of which guidance', ms(await timeIt(20, () => applyGuidance(batched, guidance)))]);
  rows.push(['  of which guidance rescale (off)', ms(await timeIt(20, () => rescaleGuidance(latents, latents, 0)))]);
  for (const name of SCHEDULERS) {
    const scheduler = createScheduler(name, {
      beta_schedule: 'scaled_linear',
      beta_start: 0.00085,
      beta_end: 0.012,
      steps_offset: 1,
      timestep_spacing: 'leading',
    });
    scheduler.setTimesteps(Math.min(steps, 50));
    let sample: Float32Array = latents.map((x) => x * scheduler.initNoiseSigma);
    const stepStarted = performance.now();
    for (const t of scheduler.timesteps) {
      sample = scheduler.step(latents, t, scheduler.scaleModelInput(sample, t), { noise }).prevSample;
    }
    rows.push([
      `  of which scheduler ${name} (scale + step)`,
      ms((performance.now() - stepStarted) / scheduler.timesteps.length),
    ]);
  }

  // The final image: encoders at the settings the pipeline uses, on the last run's pixels.
  if (lastPng) {
    const { data: rgb, info } = await sharp(lastPng).raw().toBuffer({ resolveWithObject: true });
    const planar = new Float32Array(3 * info.width * info.height);
    for (let p = 0; p < info.width * info.height; p++)
      for (let c = 0; c < 3; c++) planar[c * info.width * info.height + p] = rgb[p * 3 + c]! / 127.5 - 1;
    const size = `${info.width}x${info.height}`;
    rows.push([`decoder output → 8-bit RGB, ${size}`, ms(await timeIt(5, () => toRgb8(planar, info.width, info.height)))]);
    for (const format of OUTPUT_FORMATS) {
      const encoding = { outputFormat: format, provenance: { jobId: 'gen_bench', tenantName: 'Bench' } };
      const encodeMs = await timeIt(5, () => encodeImage(rgb, info.width, info.height, encoding));
      const bytes = await encodeImage(rgb, info.width, info.height, encoding);
      rows.push([
        `final encode ${format}, ${size}`,
        `${goal(encodeMs, GOALS.encodeMs)}, ${(bytes.length / 1024).toFixed(0)} KiB`,
      ]);
    }
    // The tiny model's images are noise, the worst case for every encoder; a real SDXL
    // image compresses like a photo. A drawn stand-in for one: gradients, shaded shapes, grain.
    const photo = photoLike(info.width, info.height);
    for (const format of OUTPUT_FORMATS) {
      const encoding = { outputFormat: format, provenance: { jobId: 'gen_bench', tenantName: 'Bench' } };
      const encodeMs = await timeIt(5, () => encodeImage(photo, info.width, info.height, encoding));
      const bytes = await encodeImage(photo, info.width, info.height, encoding);
      rows.push([
        `final encode ${format}, ${size}, photo-like drawn image`,
        `${goal(encodeMs, GOALS.encodeMs)}, ${(bytes.length / 1024).toFixed(0)} KiB`,
      ]);
    }
    const jpeg = () =>
      sharp(rgb, { raw: { width: info.width, height: info.height, channels: 3 } })
        .jpeg({ quality: 90 })
        .toBuffer();
    rows.push([
      `final encode jpeg q90 (not an output format), ${size}`,
      `${goal(await timeIt(5, jpeg), GOALS.encodeMs)}, ${((await jpeg()).length / 1024).toFixed(0)} KiB`,
    ]);
  }

  // A preview of a latent of the bench size: linear map, then JPEG as the runner sends it.
  const [latentHeight, latentWidth] = [height / 8, width / 8];
  rows.push([
    `preview latent → RGB, ${latentWidth}x${latentHeight}`,
    ms(await timeIt(20, () => latentToRgb(latents, latentHeight, latentWidth))),
  ]);
  rows.push([
    'preview render (RGB + JPEG data: URL)',
    goal(await timeIt(20, () => previewer.render([latents], latentHeight, latentWidth)), GOALS.previewMs),
  ]);
} finally {
  if (scratch) await rm(scratch, { recursive: true, force: true });
}

rows.push(['peak RSS', `${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB`]);
const widest = Math.max(...rows.map(([label]) => label.length));
process.stdout.write(`gpu-runner inference bench (${process.platform}, ${cpus().length} cores, node ${process.version})\n`);
for (const [label, value] of rows) process.stdout.write(`  ${label.padEnd(widest)}  ${value}\n`);

/** A deterministic photo-like RGB image: a lit backdrop, a shaded product-like ellipse, a highlight, film grain. */
function photoLike(width: number, height: number): Buffer {
  const rgb = Buffer.alloc(width * height * 3);
  let state = 1;
  const grain = () => ((state = (Math.imul(state, 1664525) + 1013904223) >>> 0) / 2 ** 32 - 0.5) * 4;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      let [r, g, b] = [205 - (y / height) * 80 + 8 * Math.sin(x / 40), 195 - (y / height) * 60, 185 - (y / height) * 100];
      const [dx, dy] = [(x - width / 2) / (width / 4), (y - height * 0.55) / (height / 3.4)];
      const d = dx * dx + dy * dy;
      if (d < 1) {
        const shade = 0.5 + 0.5 * (1 - d);
        [r, g, b] = [150 * shade + 40 + 12 * Math.sin(x / 7) * shade, 80 * shade + 30, 45 * shade + 20];
      }
      const [hx, hy] = [(x - width * 0.3) / (width / 12), (y - height * 0.3) / (height / 12)];
      if (hx * hx + hy * hy < 1) [r, g, b] = [235, 225, 100 + 60 * hx];
      const n = grain();
      const at = (y * width + x) * 3;
      rgb[at] = Math.max(0, Math.min(255, Math.round(r + n)));
      rgb[at + 1] = Math.max(0, Math.min(255, Math.round(g + n)));
      rgb[at + 2] = Math.max(0, Math.min(255, Math.round(b + n)));
    }
  }
  return rgb;
}
