import { describe, expect, it } from 'vitest';
import { GaussianNoise } from '../random/pcg32.js';
import { SharpnessFilter } from './sharpness.js';

const SDXL_SCHEDULE = { num_train_timesteps: 1000, beta_start: 0.00085, beta_end: 0.012, beta_schedule: 'scaled_linear' };
const filter = SharpnessFilter.fromSchedulerConfig(SDXL_SCHEDULE);
const dims = { channels: 4, height: 24, width: 24 };
const item = 4 * 24 * 24;

/** Sum of squared differences between horizontal neighbours: the high-frequency energy. */
function roughness(data: Float32Array): number {
  let sum = 0;
  for (let c = 0; c < 4; c++)
    for (let y = 0; y < 24; y++)
      for (let x = 1; x < 24; x++) sum += (data[c * 576 + y * 24 + x]! - data[c * 576 + y * 24 + x - 1]!) ** 2;
  return sum;
}

/** [uncond, cond] predictions of noise, and an input whose left and right halves differ sharply. */
function scene() {
  const noise = new GaussianNoise(5);
  const batched = noise.gaussian(2 * item);
  const input = Float32Array.from({ length: item }, (_, i) => (i % 24 < 12 ? -2 : 2));
  return { batched, input };
}

describe('SharpnessFilter', () => {
  it('weighs 0.001 · sharpness · progress, progress growing from 0 at t = 999 to 1 at t = 0', () => {
    expect(filter.weight(2, 999)).toBe(0);
    expect(filter.weight(2, 0)).toBeCloseTo(0.002, 12);
    expect(filter.weight(10, 499.5)).toBeCloseTo(0.005, 12);
    expect(filter.weight(0, 0)).toBe(0);
  });

  it('is a no-op at sharpness 0 and at the first timestep', () => {
    const { batched, input } = scene();
    expect(filter.apply(batched, input, 0, 0, dims)).toBe(batched);
    expect(filter.apply(batched, input, 999, 5, dims)).toBe(batched);
  });

  it('smooths only the conditional prediction, toward less high-frequency energy', () => {
    const { batched, input } = scene();
    const out = filter.apply(batched, input, 0, 30, dims);
    expect(Array.from(out.subarray(0, item))).toEqual(Array.from(batched.subarray(0, item)));
    const before = roughness(batched.subarray(item));
    const after = roughness(out.subarray(item));
    expect(after).toBeLessThan(before);
    // The blend is 3% filtered at sharpness 30: a small, proportionate change.
    expect(after).toBeGreaterThan(before * 0.9);
    const stronger = roughness(filter.apply(batched, input, 0, 60, dims).subarray(item));
    expect(stronger).toBeLessThan(after);
  });

  it('keeps edges the clean-image estimate has: smoothing stops at them', () => {
    // A prediction that is a step exactly where the input steps keeps its step...
    const step = Float32Array.from({ length: 2 * item }, (_, i) => ((i % item) % 24 < 12 ? -1 : 1));
    const input = Float32Array.from({ length: item }, (_, i) => (i % 24 < 12 ? -3 : 3));
    const kept = filter.apply(step, input, 0, 1000, dims).subarray(item);
    // ...while under an input with an edge elsewhere (top vs bottom) it is blurred across.
    const elsewhere = Float32Array.from({ length: item }, (_, i) => (i % 576 < 288 ? -3 : 3));
    const flat = filter.apply(step, elsewhere, 0, 1000, dims).subarray(item);
    const jump = (data: Float32Array) => data[12]! - data[11]!;
    expect(jump(kept)).toBeGreaterThan(1.9);
    expect(jump(flat)).toBeLessThan(jump(kept) - 0.2);
  });
});
