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
  const s = Math.fround(scale);
  const out = new Float32Array(half);
  for (let i = 0; i < half; i++) {
    const uncond = batched[i]!;
    out[i] = uncond + Math.fround(s * Math.fround(batched[half + i]! - uncond));
  }
  return out;
}

export function scale(data: Float32Array, factor: number): Float32Array {
  const f = Math.fround(factor);
  return data.map((x) => x * f);
}
