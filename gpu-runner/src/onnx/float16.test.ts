import { describe, expect, it } from 'vitest';
import { fromFloat16, toFloat16 } from './float16.js';

const half = (value: number) => toFloat16(Float32Array.of(value))[0];

describe('float16 conversion', () => {
  it('writes the IEEE half bits of known values', () => {
    expect([1, -2, 0.5, 65504, 0.1, 0, -0].map(half)).toEqual([0x3c00, 0xc000, 0x3800, 0x7bff, 0x2e66, 0, 0x8000]);
    // The smallest subnormal, and half of it (a tie, to even: zero).
    expect([2 ** -24, 2 ** -25, 3 * 2 ** -25].map(half)).toEqual([1, 0, 2]);
    expect([Infinity, -Infinity, 70000].map(half)).toEqual([0x7c00, 0xfc00, 0x7c00]);
    expect(Number.isNaN(fromFloat16(toFloat16(Float32Array.of(NaN)))[0])).toBe(true);
  });

  it('rounds to nearest with ties to even, carrying into the exponent', () => {
    // 1 + 2^-11 is halfway between 1 and 1 + 2^-10: the even one, 1.
    expect(half(1 + 2 ** -11)).toBe(0x3c00);
    expect(half(1 + 3 * 2 ** -11)).toBe(0x3c02);
    expect(half(1 + 2 ** -11 + 2 ** -20)).toBe(0x3c01);
    // Just under 2 rounds up to 2 (mantissa overflow into the exponent).
    expect(half(2 - 2 ** -12)).toBe(0x4000);
  });

  it('gives every half back exactly', () => {
    const all = Uint16Array.from({ length: 65536 }, (_, i) => i);
    const values = fromFloat16(all);
    const again = toFloat16(values);
    for (let h = 0; h < 65536; h++) {
      if (Number.isNaN(values[h])) continue;
      if (again[h] !== h) expect({ h, value: values[h], again: again[h] }).toBeUndefined();
    }
    expect(values[0x3c00]).toBe(1);
    expect(values[0x0001]).toBe(2 ** -24);
  });
});
