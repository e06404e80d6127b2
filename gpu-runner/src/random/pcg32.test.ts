import { describe, expect, it } from 'vitest';
import { GaussianNoise, Pcg32, gaussianNoise } from './pcg32.js';

describe('Pcg32', () => {
  it('matches the reference pcg32-global-demo output for seed 42, stream 54', () => {
    // Round 1 of pcg-c-basic's pcg32-demo with `pcg32_srandom(42u, 54u)`.
    const rng = new Pcg32(42n, 54n);
    const got = Array.from({ length: 6 }, () => rng.nextUint32());
    expect(got).toEqual([0xa15c02b7, 0x7b47f409, 0xba1d3330, 0x83d2f293, 0xbfa4784b, 0xcbed606e]);
  });

  it('keeps uniforms strictly inside (0, 1)', () => {
    const rng = new Pcg32(7);
    for (let i = 0; i < 10_000; i++) {
      const u = rng.nextOpenUnit();
      expect(u > 0 && u < 1).toBe(true);
    }
  });
});

describe('gaussianNoise', () => {
  it('is reproducible for a seed and differs across seeds', () => {
    expect(gaussianNoise(1234, 999)).toEqual(gaussianNoise(1234, 999));
    expect(gaussianNoise(1234, 16)).not.toEqual(gaussianNoise(1235, 16));
  });

  it('has zero mean and unit variance', () => {
    const noise = gaussianNoise(99, 200_000);
    let sum = 0;
    let squares = 0;
    for (const x of noise) {
      sum += x;
      squares += x * x;
    }
    const mean = sum / noise.length;
    expect(Math.abs(mean)).toBeLessThan(0.01);
    expect(squares / noise.length - mean * mean).toBeCloseTo(1, 1);
  });
});

describe('GaussianNoise', () => {
  it('continues one sequence across calls of any size, so a stream is the same however it is drawn', () => {
    const whole = new GaussianNoise(7, 99n).gaussian(11);
    const source = new GaussianNoise(7, 99n);
    const parts = [...source.gaussian(3), ...source.gaussian(1), ...source.gaussian(0), ...source.gaussian(7)];
    expect(Float32Array.from(parts)).toEqual(whole);
  });

  it('gives different streams for different stream selectors, and the default stream is gaussianNoise', () => {
    expect(new GaussianNoise(7, 1n).gaussian(8)).not.toEqual(new GaussianNoise(7, 2n).gaussian(8));
    expect(new GaussianNoise(7).gaussian(8)).toEqual(gaussianNoise(7, 8));
  });
});

describe('Pcg32 arithmetic', () => {
  /** PCG32 XSH-RR in BigInt, transcribed from pcg_basic.c, to check the 32-bit-limb version against. */
  function* reference(seed: bigint, stream: bigint) {
    const mask = (1n << 64n) - 1n;
    const increment = ((stream << 1n) | 1n) & mask;
    let state = 0n;
    const next = () => {
      const old = state;
      state = (old * 6364136223846793005n + increment) & mask;
      const xorShifted = Number((((old >> 18n) ^ old) >> 27n) & 0xffffffffn);
      const rotation = Number(old >> 59n);
      return ((xorShifted >>> rotation) | (xorShifted << (-rotation & 31))) >>> 0;
    };
    next();
    state = (state + seed) & mask;
    next();
    for (;;) yield next();
  }

  it.each([
    [42n, 54n],
    [0n, 0n],
    [0xffffffffffffffffn, 0x7fffffffffffffffn],
    [1234n, 0xda3e39cb94b95bdbn],
  ])('gives the reference sequence for seed %s, stream %s', (seed, stream) => {
    const rng = new Pcg32(seed, stream);
    const expected = reference(seed, stream);
    const got = Array.from({ length: 20_000 }, () => rng.nextUint32());
    const want = Array.from({ length: 20_000 }, () => expected.next().value as number);
    expect(got).toEqual(want);
  });
});
