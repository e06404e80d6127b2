import { describe, expect, it } from 'vitest';
import { stackPrompts, zeroPrompts, type EncodedPrompts } from './prompt-encoder.js';

/** A batch-of-one encoding of `windows` 77-token windows whose values count up from `start`. */
const encoded = (windows: number, start: number): EncodedPrompts => {
  const sequenceLength = 77 * windows;
  return {
    batch: 1,
    sequenceLength,
    width: 2,
    hiddenStates: Float32Array.from({ length: sequenceLength * 2 }, (_, i) => start + i),
    textEmbeds: Float32Array.of(start, start + 1, start + 2),
    projection: 3,
  };
};

describe('stackPrompts', () => {
  it('batches equal lengths as they are', () => {
    const stacked = stackPrompts(encoded(1, 0), encoded(1, 1000))!;
    expect([stacked.batch, stacked.sequenceLength]).toEqual([2, 77]);
    expect(Array.from(stacked.hiddenStates.subarray(154, 156))).toEqual([1000, 1001]);
    expect(Array.from(stacked.textEmbeds)).toEqual([0, 1, 2, 1000, 1001, 1002]);
  });

  it('tiles both to the least common multiple of their lengths, up to 4×', () => {
    const stacked = stackPrompts(encoded(2, 0), encoded(3, 1000))!;
    expect([stacked.batch, stacked.sequenceLength]).toEqual([2, 6 * 77]);
    const item = 6 * 77 * 2;
    const first = stacked.hiddenStates.subarray(0, item);
    const second = stacked.hiddenStates.subarray(item);
    // [a a a] and [b b]: the same tokens, each repeated.
    expect(Array.from(first.subarray(2 * 77 * 2, 2 * 77 * 2 + 2))).toEqual([0, 1]);
    expect(Array.from(first.subarray(4 * 77 * 2, 4 * 77 * 2 + 2))).toEqual([0, 1]);
    expect(Array.from(second.subarray(3 * 77 * 2, 3 * 77 * 2 + 2))).toEqual([1000, 1001]);
    expect(Array.from(stacked.textEmbeds)).toEqual([0, 1, 2, 1000, 1001, 1002]);
  });

  it('gives up beyond 4× so the UNet sees the branches one at a time', () => {
    expect(stackPrompts(encoded(1, 0), encoded(5, 0))).toBeUndefined();
    expect(stackPrompts(encoded(4, 0), encoded(1, 0))).toBeDefined();
  });
});

describe('zeroPrompts', () => {
  it('keeps the shape and zeroes every value', () => {
    const zeros = zeroPrompts(encoded(2, 5));
    expect(zeros.sequenceLength).toBe(154);
    expect(zeros.hiddenStates.length).toBe(154 * 2);
    expect(zeros.hiddenStates.every((x) => x === 0) && zeros.textEmbeds.every((x) => x === 0)).toBe(true);
  });
});
