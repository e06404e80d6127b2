/**
 * Fooocus's way of applying prompt emphasis to CLIP hidden states (its patched
 * `encode_token_weights`): each token's vector is moved away from (weight > 1) or toward
 * (weight < 1) the vector the same position has in the encoding of the empty prompt, then
 * the whole window is rescaled so its mean is what it was before. Scaling relative to the
 * empty prompt rather than to zero keeps the positional and padding content intact; the
 * mean correction keeps the overall magnitude the UNet was trained on.
 */

/**
 * Emphasis on one encoder window, in place: `hidden` and `empty` are [tokens, width],
 * `weights` has one value per token. A window whose weights are all 1 is left unchanged.
 */
export function applyEmphasis(hidden: Float32Array, empty: Float32Array, weights: Float32Array, width: number): void {
  if (weights.every((weight) => weight === 1)) return;
  if (hidden.length !== empty.length || hidden.length !== weights.length * width) {
    throw new Error(
      `emphasis: window of ${hidden.length} values, empty of ${empty.length}, ${weights.length} weights × ${width}`,
    );
  }
  const before = mean(hidden);
  for (let token = 0; token < weights.length; token++) {
    const weight = Math.fround(weights[token]!);
    if (weight === 1) continue;
    for (let i = token * width; i < (token + 1) * width; i++) {
      const base = empty[i]!;
      hidden[i] = Math.fround(Math.fround(Math.fround(hidden[i]! - base) * weight) + base);
    }
  }
  const after = mean(hidden);
  if (after === 0 || !Number.isFinite(before / after)) return;
  const ratio = Math.fround(before / after);
  for (let i = 0; i < hidden.length; i++) hidden[i] = Math.fround(hidden[i]! * ratio);
}

function mean(data: Float32Array): number {
  let sum = 0;
  for (const x of data) sum += x;
  return Math.fround(sum / data.length);
}
