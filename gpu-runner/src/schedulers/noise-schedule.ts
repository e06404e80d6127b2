/**
 * The training noise schedule every diffusers scheduler builds in its constructor, and the
 * numeric helpers the ports share. Each function reproduces what diffusers computes,
 * including where it is float32 (torch tensors) and where float64 (numpy), so that golden
 * values made by diffusers itself match to the last bits or nearly.
 */

export type BetaSchedule = 'linear' | 'scaled_linear' | 'squaredcos_cap_v2';

export interface NoiseScheduleConfig {
  numTrainTimesteps: number;
  betaStart: number;
  betaEnd: number;
  betaSchedule: BetaSchedule;
  trainedBetas: readonly number[] | null;
}

const f = Math.fround;

/** `betas` as diffusers builds them: float32 torch tensors. */
export function betas({
  numTrainTimesteps: n,
  betaStart,
  betaEnd,
  betaSchedule,
  trainedBetas,
}: NoiseScheduleConfig): Float32Array {
  if (!Number.isInteger(n) || n < 2) throw new Error(`numTrainTimesteps must be an integer >= 2, got ${n}`);
  if (trainedBetas) {
    if (trainedBetas.length !== n) throw new Error(`trainedBetas has ${trainedBetas.length} values, expected ${n}`);
    return Float32Array.from(trainedBetas);
  }
  if (betaSchedule === 'linear') return torchLinspace32(betaStart, betaEnd, n);
  if (betaSchedule === 'scaled_linear') return torchLinspace32(Math.sqrt(betaStart), Math.sqrt(betaEnd), n).map((b) => b * b);
  if (betaSchedule === 'squaredcos_cap_v2') {
    // betas_for_alpha_bar with the cosine alpha_bar: Python floats, then one cast.
    const alphaBar = (t: number) => Math.cos(((t + 0.008) / 1.008) * (Math.PI / 2)) ** 2;
    return Float32Array.from({ length: n }, (_, i) => Math.min(1 - alphaBar((i + 1) / n) / alphaBar(i / n), 0.999));
  }
  throw new Error(`beta schedule ${JSON.stringify(betaSchedule)} is not supported`);
}

/**
 * `torch.cumprod(1 - betas)`: torch's CPU kernel accumulates float32 products in double and
 * stores each partial product as float32. Multiplying in float32 instead drifts: 976 of
 * SDXL's 1000 values would differ.
 */
export function alphasCumprod(betaValues: Float32Array): Float32Array {
  const out = new Float32Array(betaValues.length);
  let product = 1;
  for (let i = 0; i < betaValues.length; i++) {
    product *= f(1 - betaValues[i]!);
    out[i] = product;
  }
  return out;
}

/** `((1 - ᾱ) / ᾱ) ** 0.5` per training timestep, ascending with t, in float32. */
export function trainingSigmas(cumprod: Float32Array): Float32Array {
  return cumprod.map((a) => f(Math.sqrt(f(f(1 - a) / a))));
}

/**
 * `torch.linspace(start, end, steps, dtype=float32)` on CPU: float32 bounds and step, the
 * first half as fma(step, i, start) and the second as fma(-step, steps - 1 - i, end) (the
 * compiler contracts torch's `start + step * i` into one fused multiply-add).
 */
export function torchLinspace32(start: number, end: number, steps: number): Float32Array {
  const s = f(start);
  const e = f(end);
  const step = f(f(e - s) / (steps - 1));
  const half = Math.floor(steps / 2);
  return Float32Array.from({ length: steps }, (_, i) => (i < half ? fma32(step, i, s) : fma32(-step, steps - i - 1, e)));
}

/**
 * fmaf(a, b, c) for float32 operands: the product is exact in a double; the sum is rounded
 * once to float32, correcting the rare case where rounding through double lands on a tie.
 */
export function fma32(a: number, b: number, c: number): number {
  const product = a * b;
  const sum = product + c;
  // TwoSum: the exact error of the double addition.
  const virtualC = sum - product;
  const error = product - (sum - virtualC) + (c - virtualC);
  const rounded = f(sum);
  if (error === 0 || rounded === sum) return rounded;
  const other = f(rounded < sum ? nextUp32(rounded) : nextDown32(rounded));
  if ((rounded + other) / 2 !== sum) return rounded;
  // sum is exactly halfway in double but not in reality: the error says which side wins.
  return error > 0 ? Math.max(rounded, other) : Math.min(rounded, other);
}

const scratch = new Float32Array(1);
const scratchBits = new Int32Array(scratch.buffer);
function nextUp32(x: number): number {
  scratch[0] = x;
  if (x === 0) return 1.401298464324817e-45;
  scratchBits[0]! += x > 0 ? 1 : -1;
  return scratch[0];
}
function nextDown32(x: number): number {
  return -nextUp32(-x);
}

/** Element `i` of `np.linspace(start, stop, num)` in float64 (numpy's formula). */
export function linspace64(start: number, stop: number, num: number, i: number): number {
  if (num === 1) return start;
  if (i === num - 1) return stop;
  const step = (stop - start) / (num - 1);
  return step === 0 ? start + (i / (num - 1)) * (stop - start) : i * step + start;
}

/** `np.interp(t, arange(len(table)), table)` for t within [0, len - 1], in float64. */
export function interpolate(t: number, table: Float32Array): number {
  const last = table.length - 1;
  if (t <= 0) return table[0]!;
  if (t >= last) return table[last]!;
  const j = Math.floor(t);
  if (j === t) return table[j]!;
  const slope = table[j + 1]! - table[j]!;
  return slope * (t - j) + table[j]!;
}

/** numpy's `round`: half to even. */
export function roundHalfEven(x: number): number {
  const floor = Math.floor(x);
  const diff = x - floor;
  if (diff < 0.5) return floor;
  if (diff > 0.5) return floor + 1;
  return floor % 2 === 0 ? floor : floor + 1;
}

/**
 * Karras et al. (2022) sigmas, `_convert_to_karras`: ρ = 7 interpolation between the
 * largest and smallest training sigma, in float64.
 */
export function karrasSigmas(sigmaMin: number, sigmaMax: number, count: number): Float64Array {
  const rho = 7;
  const minInvRho = sigmaMin ** (1 / rho);
  const maxInvRho = sigmaMax ** (1 / rho);
  return Float64Array.from(
    { length: count },
    (_, i) => (maxInvRho + linspace64(0, 1, count, i) * (minInvRho - maxInvRho)) ** rho,
  );
}

/**
 * `_sigma_to_t`: the fractional training timestep of `sigma`, by linear interpolation in log
 * sigma. `logSigmas` is float32 (numpy's log of a float32 array); the arithmetic is float64.
 */
export function sigmaToTimestep(sigma: number, logSigmas: Float32Array): number {
  const logSigma = Math.log(Math.max(sigma, 1e-10));
  let count = 0;
  let lowIndex = 0;
  // argmax of the running count of log_sigmas[i] <= log_sigma: the last index where it rises.
  for (let i = 0; i < logSigmas.length; i++) {
    if (logSigma - logSigmas[i]! >= 0) {
      count += 1;
      lowIndex = i;
    }
  }
  if (count === 0) lowIndex = 0;
  lowIndex = Math.min(lowIndex, logSigmas.length - 2);
  const low = logSigmas[lowIndex]!;
  const high = logSigmas[lowIndex + 1]!;
  const w = Math.min(1, Math.max(0, (low - logSigma) / (low - high)));
  return (1 - w) * lowIndex + w * (lowIndex + 1);
}

/** `np.log` of a float32 array: float32 results. */
export function logFloat32(values: Float32Array): Float32Array {
  return values.map((x) => Math.log(x));
}

export type TimestepSpacing = 'linspace' | 'leading' | 'trailing';

/**
 * The Euler family's `set_timesteps` spacing (numpy, float32 result), descending:
 * - linspace: `np.linspace(0, n - 1, steps)`;
 * - leading: multiples of `n // steps` from 0, plus `steps_offset` (SDXL's default);
 * - trailing: `np.arange(n, 0, -n / steps).round() - 1`, which starts at the last training
 *   timestep — what few-step distilled models such as SDXL-Lightning are trained on.
 */
export function spacedTimesteps(spacing: TimestepSpacing, n: number, steps: number, stepsOffset: number): Float32Array {
  if (!Number.isInteger(steps) || steps < 1 || steps > n) {
    throw new Error(`numInferenceSteps must be an integer in [1, ${n}], got ${steps}`);
  }
  if (spacing === 'linspace') return Float32Array.from({ length: steps }, (_, i) => linspace64(0, n - 1, steps, steps - 1 - i));
  if (spacing === 'leading') {
    const ratio = Math.floor(n / steps);
    return Float32Array.from({ length: steps }, (_, i) => (steps - 1 - i) * ratio + stepsOffset);
  }
  const ratio = n / steps;
  const count = Math.ceil(n / ratio);
  return Float32Array.from({ length: count }, (_, i) => roundHalfEven(n - i * ratio) - 1);
}
