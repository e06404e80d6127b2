/**
 * Fooocus's "sharpness" (its `patched_sampling_function` with `adaptive_anisotropic_filter`):
 * before classifier-free guidance, the text-conditioned noise prediction is blended with a
 * copy of itself smoothed by a joint bilateral filter whose edges come from the model's
 * current estimate of the clean image. Smoothing the positive prediction along those edges
 * (and not across them) takes out the high-frequency noise guidance would amplify while
 * keeping object boundaries crisp, so textures come out cleaner and edges sharper.
 *
 * The blend weight is `0.001 · sharpness · progress`, with progress `1 − t / (T − 1)`
 * growing from 0 at the first (noisiest) step to about 1 at the last, as in Fooocus: the
 * filter has no say while the layout forms and the most over the fine detail.
 *
 * Filter: 13 × 13 window, spatial and range sigmas 3, reflected borders, range distance
 * the squared L1 distance over channels of the guide, normalised per image to zero mean and
 * unit (unbiased) standard deviation.
 */
import { alphasCumprod, betas, trainingSigmas, type BetaSchedule } from '../schedulers/noise-schedule.js';

const KERNEL = 13;
const RADIUS = (KERNEL - 1) / 2;
const SIGMA_SPACE = 3;
const SIGMA_COLOR = 3;
const STRENGTH_PER_UNIT = 0.001;

/** The model's training noise levels, to turn a timestep into the clean-image estimate. */
export class SharpnessFilter {
  private readonly logSigmas: Float64Array;
  private readonly space: Float64Array;

  private constructor(sigmas: Float32Array) {
    this.logSigmas = Float64Array.from(sigmas, (s) => Math.log(s));
    this.space = spatialKernel();
  }

  /** From the model's `scheduler_config.json` (diffusers' defaults where a field is absent). */
  static fromSchedulerConfig(config: Readonly<Record<string, unknown>>): SharpnessFilter {
    const number = (key: string, fallback: number) => (typeof config[key] === 'number' ? config[key] : fallback);
    const trained = config.trained_betas;
    return new SharpnessFilter(
      trainingSigmas(
        alphasCumprod(
          betas({
            numTrainTimesteps: number('num_train_timesteps', 1000),
            betaStart: number('beta_start', 0.0001),
            betaEnd: number('beta_end', 0.02),
            betaSchedule: (typeof config.beta_schedule === 'string' ? config.beta_schedule : 'linear') as BetaSchedule,
            trainedBetas: Array.isArray(trained) ? (trained as number[]) : null,
          }),
        ),
      ),
    );
  }

  /** The blend weight at timestep `t`: 0 when sharpness is off. */
  weight(sharpness: number, t: number): number {
    const last = this.logSigmas.length - 1;
    const progress = Math.min(1, Math.max(0, 1 - t / last));
    return STRENGTH_PER_UNIT * sharpness * progress;
  }

  /**
   * `batched` ([uncond…, cond…] noise predictions, each [channels, height, width]) with its
   * conditional half blended toward its filtered copy; `input` is what the UNet saw (the
   * scaled latents, one per image). Returns `batched` itself when the weight is 0.
   */
  apply(
    batched: Float32Array,
    input: Float32Array,
    t: number,
    sharpness: number,
    dims: { channels: number; height: number; width: number },
  ): Float32Array {
    const alpha = this.weight(sharpness, t);
    if (alpha <= 0) return batched;
    const item = dims.channels * dims.height * dims.width;
    const half = batched.length / 2;
    const images = half / item;
    const noise = this.noiseScale(t);
    const out = batched.slice();
    for (let image = 0; image < images; image++) {
      const eps = batched.subarray(half + image * item, half + (image + 1) * item);
      // One input per image, or one shared by all (a single image).
      const from = (image % (input.length / item)) * item;
      const x = input.subarray(from, from + item);
      // The clean-image estimate up to a positive factor, which the normalisation removes:
      // input = √ᾱ·x₀ + √(1−ᾱ)·ε for every scheduler here (Euler's scaled input included).
      const guide = normalise(x.map((value, i) => value - noise * eps[i]!));
      const filtered = bilateral(eps, guide, dims, this.space);
      const target = out.subarray(half + image * item, half + (image + 1) * item);
      for (let i = 0; i < item; i++) {
        target[i] = Math.fround(Math.fround(filtered[i]! * alpha) + Math.fround(eps[i]! * (1 - alpha)));
      }
    }
    return out;
  }

  /** √(1 − ᾱ) / √ᾱ · √ᾱ = σ/√(1+σ²): the noise's share of the UNet input at timestep `t`. */
  private noiseScale(t: number): number {
    const last = this.logSigmas.length - 1;
    const clamped = Math.min(last, Math.max(0, t));
    const j = Math.min(last - 1, Math.floor(clamped));
    const logSigma = this.logSigmas[j]! + (this.logSigmas[j + 1]! - this.logSigmas[j]!) * (clamped - j);
    const sigma = Math.exp(logSigma);
    return sigma / Math.sqrt(1 + sigma * sigma);
  }
}

function spatialKernel(): Float64Array {
  const oneD = Float64Array.from({ length: KERNEL }, (_, i) => Math.exp(-((i - RADIUS) ** 2) / (2 * SIGMA_SPACE ** 2)));
  const sum = oneD.reduce((a, b) => a + b, 0);
  const kernel = new Float64Array(KERNEL * KERNEL);
  for (let y = 0; y < KERNEL; y++) for (let x = 0; x < KERNEL; x++) kernel[y * KERNEL + x] = (oneD[y]! / sum) * (oneD[x]! / sum);
  return kernel;
}

function normalise(data: Float32Array): Float32Array {
  let sum = 0;
  for (const x of data) sum += x;
  const mean = sum / data.length;
  let squares = 0;
  for (const x of data) squares += (x - mean) ** 2;
  const std = Math.sqrt(squares / (data.length - 1)) + 1e-5;
  return data.map((x) => (x - mean) / std);
}

/** Index into [0, n) reflected at the borders without repeating the edge (torch's 'reflect'). */
function reflect(i: number, n: number): number {
  if (i < 0) return -i;
  if (i >= n) return 2 * (n - 1) - i;
  return i;
}

/** [channels, height, width] as [height + 2r, width + 2r, channels]: reflected borders, channels adjacent. */
function padInterleaved(data: Float32Array, channels: number, height: number, width: number): Float64Array {
  const paddedWidth = width + 2 * RADIUS;
  const out = new Float64Array((height + 2 * RADIUS) * paddedWidth * channels);
  const plane = height * width;
  for (let y = 0; y < height + 2 * RADIUS; y++) {
    const source = reflect(y - RADIUS, height) * width;
    for (let x = 0; x < paddedWidth; x++) {
      const from = source + reflect(x - RADIUS, width);
      const to = (y * paddedWidth + x) * channels;
      for (let c = 0; c < channels; c++) out[to + c] = data[c * plane + from]!;
    }
  }
  return out;
}

function bilateral(
  input: Float32Array,
  guide: Float32Array,
  { channels, height, width }: { channels: number; height: number; width: number },
  space: Float64Array,
): Float32Array {
  if (height <= RADIUS || width <= RADIUS) return input;
  const plane = height * width;
  const stride = (width + 2 * RADIUS) * channels;
  const values = padInterleaved(input, channels, height, width);
  const edges = padInterleaved(guide, channels, height, width);
  const out = new Float32Array(input.length);
  const rangeScale = -0.5 / (SIGMA_COLOR * SIGMA_COLOR);
  const sums = new Float64Array(channels);
  const centre = new Float64Array(channels);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const middle = (y + RADIUS) * stride + (x + RADIUS) * channels;
      for (let c = 0; c < channels; c++) centre[c] = edges[middle + c]!;
      sums.fill(0);
      let total = 0;
      let tap = 0;
      for (let dy = 0; dy < KERNEL; dy++) {
        let at = (y + dy) * stride + x * channels;
        for (let dx = 0; dx < KERNEL; dx++, tap++, at += channels) {
          let distance = 0;
          for (let c = 0; c < channels; c++) distance += Math.abs(edges[at + c]! - centre[c]!);
          const w = space[tap]! * Math.exp(rangeScale * distance * distance);
          total += w;
          for (let c = 0; c < channels; c++) sums[c] = sums[c]! + w * values[at + c]!;
        }
      }
      const pixel = y * width + x;
      for (let c = 0; c < channels; c++) out[c * plane + pixel] = sums[c]! / total;
    }
  }
  return out;
}
