#!/usr/bin/env node
/**
 * `npm run bench:runner`: times the inference core end to end and prints the figures.
 *
 *   BENCH_SIZE=1024x1024 BENCH_STEPS=30 BENCH_RUNS=2 BENCH_GUIDANCE=7 BENCH_SCHEDULER=euler npm run bench:runner
 *
 * Also times each scheduler's `step` alone (the host-side math between UNet calls) on
 * latents of the bench size.
 *
 * Uses ATELIER_MODEL_DIR when set (a real Optimum export), else generates the tiny model
 * into a fresh temporary directory so that the generation time is measured too.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// Logs would interleave with the table; the logger reads the level at import time.
process.env.LOG_LEVEL ??= 'warn';
const { ensureModel } = await import('../model/ensure-model.js');
const { SdxlPipeline } = await import('../pipeline/sdxl-pipeline.js');
const { createScheduler } = await import('../schedulers/create-scheduler.js');
const { GaussianNoise } = await import('../random/pcg32.js');
const { SCHEDULERS } = await import('@atelier/protocol');

const [width, height] = (process.env.BENCH_SIZE ?? '1024x1024').split('x').map(Number) as [number, number];
const steps = Number(process.env.BENCH_STEPS ?? 30);
const runs = Number(process.env.BENCH_RUNS ?? 2);
const guidance = Number(process.env.BENCH_GUIDANCE ?? 7);
const schedulerName = (process.env.BENCH_SCHEDULER ?? 'euler') as (typeof SCHEDULERS)[number];
if (!SCHEDULERS.includes(schedulerName)) throw new Error(`BENCH_SCHEDULER must be one of ${SCHEDULERS.join(', ')}`);
const rows: [string, string][] = [];
const ms = (value: number) => `${value.toFixed(value < 10 ? 2 : 0)} ms`;

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
  rows.push(['device', pipeline.device]);
  rows.push([
    'job',
    `${width}x${height}, ${steps} steps, ${schedulerName}, guidance ${guidance}${guidance > 1 ? ' (CFG, UNet batch 2)' : ''}, png`,
  ]);

  const walls: number[] = [];
  for (let run = 1; run <= runs; run++) {
    const stepTimes: number[] = [];
    let last = 0;
    let decodeStarted = 0;
    started = performance.now();
    const [image] = await pipeline.generate(
      {
        prompt: 'product photo of a leather handbag on a white background, studio lighting',
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
        onProgress: ({ step, stage }) => {
          const now = performance.now();
          if (stage === 'sampling' && step === 0) last = now;
          else if (stage === 'sampling') {
            stepTimes.push(now - last);
            last = now;
          } else if (stage === 'decoding') decodeStarted = now;
        },
      },
    );
    const total = performance.now() - started;
    walls.push(total);
    const mean = stepTimes.reduce((a, b) => a + b, 0) / stepTimes.length;
    rows.push([`run ${run}: wall time`, ms(total)]);
    rows.push([
      `run ${run}: UNet step (mean / min / max)`,
      `${ms(mean)} / ${ms(Math.min(...stepTimes))} / ${ms(Math.max(...stepTimes))}`,
    ]);
    rows.push([
      `run ${run}: VAE decode + PNG encode`,
      `${ms(performance.now() - decodeStarted)} (${((image?.bytes.length ?? 0) / 1024).toFixed(0)} KiB)`,
    ]);
  }
  const sorted = [...walls].sort((a, b) => a - b);
  rows.push([`median wall time of ${runs}`, ms(sorted[Math.floor((sorted.length - 1) / 2)]!)]);
  await pipeline.dispose();

  // The scheduler's own step on bench-size latents, against a fixed fake prediction.
  const latentSize = 4 * (width / 8) * (height / 8);
  for (const name of SCHEDULERS) {
    const scheduler = createScheduler(name, {
      beta_schedule: 'scaled_linear',
      beta_start: 0.00085,
      beta_end: 0.012,
      steps_offset: 1,
      timestep_spacing: 'leading',
    });
    scheduler.setTimesteps(Math.min(steps, 50));
    const noise = new GaussianNoise(1, 2n);
    let sample: Float32Array = noise.gaussian(latentSize).map((x) => x * scheduler.initNoiseSigma);
    const prediction = noise.gaussian(latentSize);
    const stepStarted = performance.now();
    for (const t of scheduler.timesteps) {
      sample = scheduler.step(prediction, t, scheduler.scaleModelInput(sample, t), { noise }).prevSample;
    }
    rows.push([
      `scheduler ${name}: scale + step`,
      `${ms((performance.now() - stepStarted) / scheduler.timesteps.length)} per step`,
    ]);
  }
} finally {
  if (scratch) await rm(scratch, { recursive: true, force: true });
}

rows.push(['peak RSS', `${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB`]);
const widest = Math.max(...rows.map(([label]) => label.length));
process.stdout.write(
  `gpu-runner inference bench (${process.platform}, ${(await import('node:os')).cpus().length} cores, node ${process.version})\n`,
);
for (const [label, value] of rows) process.stdout.write(`  ${label.padEnd(widest)}  ${value}\n`);
