import { readFileSync } from 'node:fs';
import type { SchedulerName, TimestepSpacing } from '@atelier/protocol';
import { describe, expect, it } from 'vitest';
import { createScheduler } from './create-scheduler.js';
import { DpmSolverMultistepScheduler } from './dpm-solver-multistep-scheduler.js';
import { EulerAncestralDiscreteScheduler } from './euler-ancestral-discrete-scheduler.js';
import { EulerDiscreteScheduler } from './euler-discrete-scheduler.js';
import { LcmScheduler } from './lcm-scheduler.js';
import type { NoiseSource, Scheduler } from './scheduler.js';

interface GoldenCase {
  name: string;
  className: string;
  config: string;
  overrides: Record<string, unknown>;
  steps: number;
  alphasCumprod: number;
  timesteps: number[];
  sigmas?: string;
  initNoiseSigma: number;
  noiseDraws: number;
  perStep: [timestep: number, scaledSum: number, prevSampleSum: number, predOriginalMean: number][];
  final: { sum: number; mean: number; absSum: number; first8: number[] };
  atelier?: { scheduler: SchedulerName; timestepSpacing?: TimestepSpacing };
}

// Made by diffusers itself: gpu-runner/scripts/make-scheduler-fixtures.py (see the README).
const golden = JSON.parse(readFileSync(new URL('./fixtures/schedulers.golden.json', import.meta.url), 'utf8')) as {
  generatedBy: string;
  configs: Record<string, Record<string, unknown>>;
  alphasCumprod: string[];
  cases: GoldenCase[];
};

const CLASSES: Record<string, { fromConfig(json: Record<string, unknown>): Scheduler }> = {
  EulerDiscreteScheduler,
  EulerAncestralDiscreteScheduler,
  DPMSolverMultistepScheduler: DpmSolverMultistepScheduler,
  LCMScheduler: LcmScheduler,
};

const SIZE = 64;
const f = Math.fround;
const startSample = () => Float32Array.from({ length: SIZE }, (_, i) => f(f(((i * 37) % 101) / 50) - 1));
const slope = Float32Array.from({ length: SIZE }, (_, i) => f(f(((i * 53) % 97) / 97) - 0.5));
/** The script's fake model: 0.9 * x + c * (t / 1000), float32 like torch. */
const fakeModel = (scaled: Float32Array, t: number) => {
  const tScale = f(f(t) / 1000);
  return scaled.map((x, i) => f(f(x * f(0.9)) + f(slope[i]! * tScale)));
};
/** The script's stand-in for randn_tensor: call k returns ((i*7919 + k*104729 + 13) % 2003) / 1001.5 - 1. */
class FixedNoise implements NoiseSource {
  draws = 0;
  gaussian(count: number): Float32Array {
    const k = this.draws++;
    return Float32Array.from({ length: count }, (_, i) => ((i * 7919 + k * 104729 + 13) % 2003) / 1001.5 - 1);
  }
}
const sum = (a: Float32Array) => a.reduce((acc, v) => acc + v, 0);
const float32s = (base64: string) => {
  const bytes = Buffer.from(base64, 'base64');
  return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
};
/** Within 1e-5 relative (absolute for values under 1). */
const expectClose = (actual: number, expected: number, label: string) => {
  const tolerance = 1e-5 * Math.max(1, Math.abs(expected));
  if (!(Math.abs(actual - expected) <= tolerance)) expect.fail(`${label}: ${actual} is not within ${tolerance} of ${expected}`);
};

function runLoop(scheduler: Scheduler, c: GoldenCase) {
  const noise = new FixedNoise();
  let sample: Float32Array = startSample().map((x) => x * scheduler.initNoiseSigma);
  scheduler.timesteps.forEach((t, i) => {
    const scaled = scheduler.scaleModelInput(sample, t);
    const { prevSample, predOriginalSample } = scheduler.step(fakeModel(scaled, t), t, sample, { noise });
    sample = prevSample;
    const [timestep, scaledSum, prevSampleSum, predOriginalMean] = c.perStep[i]!;
    expect(t).toBe(timestep);
    expectClose(sum(scaled), scaledSum, `step ${i} scaled sum`);
    expectClose(sum(prevSample), prevSampleSum, `step ${i} prev_sample sum`);
    expectClose(sum(predOriginalSample) / SIZE, predOriginalMean, `step ${i} pred_original mean`);
  });
  expect(noise.draws).toBe(c.noiseDraws);
  expectClose(sum(sample), c.final.sum, 'final sum');
  expectClose(sum(sample) / SIZE, c.final.mean, 'final mean');
  expectClose(sum(sample.map(Math.abs)), c.final.absSum, 'final abs sum');
  Array.from(sample.slice(0, 8)).forEach((v, i) => expectClose(v, c.final.first8[i]!, `final[${i}]`));
}

describe(`schedulers against diffusers (${golden.generatedBy})`, () => {
  for (const c of golden.cases) {
    describe(c.name, () => {
      const config = { ...golden.configs[c.config]!, ...c.overrides };
      const make = () => {
        const scheduler = CLASSES[c.className]!.fromConfig(config);
        scheduler.setTimesteps(c.steps);
        return scheduler;
      };

      it('has the reference alphas_cumprod, timesteps, sigmas and init_noise_sigma', () => {
        const scheduler = make() as Scheduler & { alphasCumprod: Float32Array; sigmas?: Float32Array };
        // Bit for bit: torch accumulates cumprod in double and stores float32.
        expect(Array.from(scheduler.alphasCumprod)).toEqual(Array.from(float32s(golden.alphasCumprod[c.alphasCumprod]!)));
        expect(Array.from(scheduler.timesteps)).toEqual(c.timesteps);
        if (c.sigmas) expect(Array.from(scheduler.sigmas ?? [])).toEqual(Array.from(float32s(c.sigmas)));
        expect(scheduler.initNoiseSigma).toBe(f(c.initNoiseSigma));
      });

      it('reproduces the deterministic sampling loop', () => {
        runLoop(make(), c);
      });

      if (c.atelier) {
        const { scheduler: name, timestepSpacing } = c.atelier;
        it(`is what a job naming "${name}"${timestepSpacing ? ` with ${timestepSpacing} spacing` : ''} gets`, () => {
          const scheduler = createScheduler(name, golden.configs[c.config]!, { timestepSpacing });
          scheduler.setTimesteps(c.steps);
          runLoop(scheduler, c);
        });
      }
    });
  }
});
