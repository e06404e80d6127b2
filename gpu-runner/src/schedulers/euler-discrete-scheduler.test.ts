import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { EulerDiscreteScheduler } from './euler-discrete-scheduler.js';

interface GoldenCase {
  name: string;
  config: Record<string, unknown>;
  steps: number;
  timesteps: number[];
  sigmas: number[];
  initNoiseSigma: number;
  perStep: { timestep: number; scaledSum: number; prevSampleSum: number; predOriginalMean: number }[];
  final: { sum: number; mean: number; absSum: number; first8: number[] };
}

// Produced by gpu-runner/scripts/make-euler-fixture.py, a numpy transliteration of
// diffusers' EulerDiscreteScheduler (see the script for why not diffusers itself).
const golden = JSON.parse(readFileSync(new URL('./fixtures/euler-discrete.golden.json', import.meta.url), 'utf8')) as {
  cases: GoldenCase[];
};

const SIZE = 64;
const f = Math.fround;

/** The fixture's deterministic start sample and model, in float32 like the script. */
function startSample(): Float32Array {
  return Float32Array.from({ length: SIZE }, (_, i) => f(f(((i * 37) % 101) / 50) - 1));
}
function fakeModel(scaled: Float32Array, timestep: number): Float32Array {
  const tScale = f(f(timestep) / 1000);
  return scaled.map((x, i) => f(f(x * f(0.9)) + f(f(f(((i * 53) % 97) / 97) - 0.5) * tScale)));
}
const sum = (a: Float32Array) => a.reduce((acc, v) => acc + v, 0);

/** Relative closeness; 2e-6 covers the one-ulp linspace difference the script documents. */
function expectClose(actual: number, expected: number, relative = 2e-6) {
  expect(Math.abs(actual - expected)).toBeLessThanOrEqual(relative * Math.max(1, Math.abs(expected)));
}

describe('EulerDiscreteScheduler against diffusers golden values', () => {
  for (const c of golden.cases) {
    describe(c.name, () => {
      const make = () => {
        const scheduler = EulerDiscreteScheduler.fromConfig(c.config);
        scheduler.setTimesteps(c.steps);
        return scheduler;
      };

      it('has the reference timesteps, sigmas and initNoiseSigma', () => {
        const scheduler = make();
        expect(Array.from(scheduler.timesteps)).toEqual(c.timesteps);
        expect(scheduler.sigmas.length).toBe(c.sigmas.length);
        scheduler.sigmas.forEach((sigma, i) => expectClose(sigma, c.sigmas[i]!));
        expectClose(scheduler.initNoiseSigma, c.initNoiseSigma);
      });

      it('reproduces the sums and means of a deterministic sampling loop', () => {
        const scheduler = make();
        let sample: Float32Array = startSample().map((x) => x * scheduler.initNoiseSigma);
        scheduler.timesteps.forEach((t, i) => {
          const scaled = scheduler.scaleModelInput(sample, t);
          const { prevSample, predOriginalSample } = scheduler.step(fakeModel(scaled, t), t, sample);
          sample = prevSample;
          const expected = c.perStep[i]!;
          expect(t).toBe(expected.timestep);
          expectClose(sum(scaled), expected.scaledSum, 1e-5);
          expectClose(sum(prevSample), expected.prevSampleSum, 1e-5);
          expectClose(sum(predOriginalSample) / SIZE, expected.predOriginalMean, 1e-5);
        });
        expectClose(sum(sample), c.final.sum, 1e-5);
        expectClose(sum(sample.map(Math.abs)), c.final.absSum, 1e-5);
        Array.from(sample.slice(0, 8)).forEach((v, i) => expectClose(v, c.final.first8[i]!, 1e-5));
      });
    });
  }
});

describe('EulerDiscreteScheduler misuse', () => {
  const sdxl = () =>
    EulerDiscreteScheduler.fromConfig({
      beta_schedule: 'scaled_linear',
      beta_start: 0.00085,
      beta_end: 0.012,
      timestep_spacing: 'leading',
      steps_offset: 1,
    });

  it('throws when stepping or scaling before setTimesteps', () => {
    const scheduler = sdxl();
    expect(() => scheduler.step(new Float32Array(4), 999, new Float32Array(4))).toThrow(/before setTimesteps/);
    expect(() => scheduler.scaleModelInput(new Float32Array(4), 999)).toThrow(/before setTimesteps/);
  });

  it('throws on a timestep outside the schedule or out of order', () => {
    const scheduler = sdxl();
    scheduler.setTimesteps(10);
    expect(() => scheduler.scaleModelInput(new Float32Array(4), 500)).toThrow(/not in the schedule/);
    const [first, , third] = scheduler.timesteps;
    scheduler.step(new Float32Array(4), first!, new Float32Array(4));
    expect(() => scheduler.step(new Float32Array(4), third!, new Float32Array(4))).toThrow(/not the current one/);
  });

  it('throws after the last step and on bad arguments', () => {
    const scheduler = sdxl();
    scheduler.setTimesteps(2);
    for (const t of scheduler.timesteps) scheduler.step(new Float32Array(4), t, new Float32Array(4));
    expect(() => scheduler.step(new Float32Array(4), 1, new Float32Array(4))).toThrow(/after the last/);
    expect(() => scheduler.setTimesteps(0)).toThrow(/numInferenceSteps/);
    expect(() => scheduler.setTimesteps(2.5)).toThrow(/numInferenceSteps/);
    expect(() => EulerDiscreteScheduler.fromConfig({ use_karras_sigmas: true })).toThrow(/not supported/);
  });
});
