/** The few array operations the pipeline does outside onnxruntime, in float32. */

/** Concatenates two [batch, rows, a] and [batch, rows, b] arrays along the last axis. */
export function concatLastAxis(left: Float32Array, leftWidth: number, right: Float32Array, rightWidth: number): Float32Array {
  const rows = left.length / leftWidth;
  if (!Number.isInteger(rows) || rows !== right.length / rightWidth) {
    throw new Error(`cannot concatenate ${left.length}/${leftWidth} and ${right.length}/${rightWidth} along the last axis`);
  }
  const width = leftWidth + rightWidth;
  const out = new Float32Array(rows * width);
  for (let r = 0; r < rows; r++) {
    out.set(left.subarray(r * leftWidth, (r + 1) * leftWidth), r * width);
    out.set(right.subarray(r * rightWidth, (r + 1) * rightWidth), r * width + leftWidth);
  }
  return out;
}

/** `count` copies of `data` one after the other (a batch of identical items). */
export function repeat(data: Float32Array, count: number): Float32Array {
  const out = new Float32Array(data.length * count);
  for (let i = 0; i < count; i++) out.set(data, i * data.length);
  return out;
}

/**
 * Classifier-free guidance on a batch of two [uncond, cond] predictions:
 * uncond + scale * (cond - uncond), rounded to float32 after each op as torch does.
 */
export function applyGuidance(batched: Float32Array, scale: number): Float32Array {
  const half = batched.length / 2;
  return guidePair(batched.subarray(0, half), batched.subarray(half), scale);
}

/** `applyGuidance` on an uncond and a cond prediction held apart, written into `out` (a new array by default). */
export function guidePair(
  uncond: Float32Array,
  cond: Float32Array,
  scale: number,
  out: Float32Array = new Float32Array(uncond.length),
): Float32Array {
  const s = Math.fround(scale);
  const n = uncond.length;
  for (let i = 0; i < n; i++) {
    const u = uncond[i]!;
    out[i] = u + Math.fround(s * Math.fround(cond[i]! - u));
  }
  return out;
}

export function scale(data: Float32Array, factor: number): Float32Array {
  const f = Math.fround(factor);
  const out = new Float32Array(data.length);
  for (let i = 0; i < data.length; i++) out[i] = data[i]! * f;
  return out;
}

/**
 * diffusers' `rescale_noise_cfg` (Lin et al. 2023, "Common Diffusion Noise Schedules and
 * Sample Steps are Flawed", §3.4): scale the guided prediction to the standard deviation of
 * the text-conditioned one, then blend `factor` of that with `1 - factor` of the guided
 * prediction. High guidance inflates the prediction's variance and burns the image; this
 * pulls it back. Standard deviations are unbiased, as torch's `std`.
 */
export function rescaleGuidance(guided: Float32Array, cond: Float32Array, factor: number): Float32Array {
  if (factor <= 0) return guided;
  const spread = std(guided);
  if (spread === 0) return guided;
  const ratio = Math.fround(std(cond) / spread);
  const phi = Math.fround(factor);
  const keep = Math.fround(1 - factor);
  const out = new Float32Array(guided.length);
  for (let i = 0; i < guided.length; i++) {
    const x = guided[i]!;
    out[i] = Math.fround(phi * Math.fround(x * ratio)) + Math.fround(keep * x);
  }
  return out;
}

function std(data: Float32Array): number {
  let sum = 0;
  for (let i = 0; i < data.length; i++) sum += data[i]!;
  const mean = sum / data.length;
  let squares = 0;
  for (let i = 0; i < data.length; i++) squares += (data[i]! - mean) * (data[i]! - mean);
  return Math.sqrt(squares / (data.length - 1));
}
