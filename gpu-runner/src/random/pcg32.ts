/**
 * Seeded noise for the initial latents.
 *
 * PCG32 (O'Neill, "PCG: A Family of Simple Fast Space-Efficient Statistically Good
 * Algorithms for Random Number Generation", 2014), variant XSH-RR: a 64-bit LCG state
 * whose output is a 32-bit xorshift-high + random-rotation permutation of the old state.
 * Seeding follows the reference `pcg32_srandom_r(initstate, initseq)`, so a run can be
 * reproduced by any other PCG32 implementation given the same two numbers.
 *
 * Gaussians come from the Box–Muller transform over 53-bit uniforms in the open interval
 * (0, 1), each built from two 32-bit outputs; both values of each pair are used.
 *
 * The 64-bit state is kept as two unsigned 32-bit halves: a megapixel image draws
 * hundreds of thousands of numbers for its initial latents and as many again for every
 * stochastic sampler step, and BigInt arithmetic made that ~200 ms a draw.
 */

const MULTIPLIER = 6364136223846793005n;
const MASK_64 = (1n << 64n) - 1n;
const MULTIPLIER_HIGH = Number(MULTIPLIER >> 32n);
const MULTIPLIER_LOW = Number(MULTIPLIER & 0xffffffffn);
const MULTIPLIER_LOW_0 = MULTIPLIER_LOW & 0xffff;
const MULTIPLIER_LOW_1 = MULTIPLIER_LOW >>> 16;
const TWO_32 = 4294967296;

/** The reference implementation's default stream selector (`PCG32_INITIALIZER`). */
export const DEFAULT_STREAM = 0xda3e39cb94b95bdbn;

export class Pcg32 {
  private high = 0;
  private low = 0;
  private readonly incrementHigh: number;
  private readonly incrementLow: number;

  constructor(seed: bigint | number, stream: bigint = DEFAULT_STREAM) {
    const increment = ((BigInt(stream) << 1n) | 1n) & MASK_64;
    this.incrementHigh = Number(increment >> 32n);
    this.incrementLow = Number(increment & 0xffffffffn);
    this.nextUint32();
    const state = ((BigInt(this.high) << 32n) + BigInt(this.low) + (BigInt(seed) & MASK_64)) & MASK_64;
    this.high = Number(state >> 32n);
    this.low = Number(state & 0xffffffffn);
    this.nextUint32();
  }

  nextUint32(): number {
    const high = this.high;
    const low = this.low;
    // state = state * MULTIPLIER + increment (mod 2^64). The low word of low × MULTIPLIER_LOW
    // is Math.imul's; its high word comes from 16-bit partial products, each below 2^32,
    // combined with shifts (no `%` or division: those became fmod calls, ~130 ns a number).
    const a0 = low & 0xffff;
    const a1 = low >>> 16;
    const p00 = a0 * MULTIPLIER_LOW_0;
    const p01 = a0 * MULTIPLIER_LOW_1;
    const p10 = a1 * MULTIPLIER_LOW_0;
    const carries = (p00 >>> 16) + (p01 & 0xffff) + (p10 & 0xffff);
    const lowHigh = a1 * MULTIPLIER_LOW_1 + (p01 >>> 16) + (p10 >>> 16) + (carries >>> 16);
    const nextLow = (Math.imul(low, MULTIPLIER_LOW) >>> 0) + this.incrementLow;
    this.low = nextLow >>> 0;
    this.high =
      (lowHigh +
        Math.imul(high, MULTIPLIER_LOW) +
        Math.imul(low, MULTIPLIER_HIGH) +
        this.incrementHigh +
        (nextLow >= TWO_32 ? 1 : 0)) >>>
      0;
    // XSH-RR on the old state: ((old >> 18) ^ old) >> 27, truncated to 32 bits, rotated by old >> 59.
    const xorHigh = high ^ (high >>> 18);
    const xorLow = low ^ ((low >>> 18) | (high << 14));
    const xorShifted = ((xorLow >>> 27) | (xorHigh << 5)) >>> 0;
    const rotation = high >>> 27;
    return ((xorShifted >>> rotation) | (xorShifted << (-rotation & 31))) >>> 0;
  }

  /** A double in (0, 1): 53 random bits, offset by half a step so 0 is never returned. */
  nextOpenUnit(): number {
    const high = this.nextUint32() >>> 5; // 27 bits
    const low = this.nextUint32() >>> 6; // 26 bits
    return (high * 67108864 + low + 0.5) / 9007199254740992;
  }
}

/**
 * A stream of standard-normal float32 samples, deterministic in (seed, stream): the
 * `NoiseSource` stochastic schedulers draw from. Consecutive calls continue one sequence,
 * whatever their sizes.
 */
export class GaussianNoise {
  private readonly rng: Pcg32;
  private spare: number | undefined;

  constructor(seed: number | bigint, stream: bigint = DEFAULT_STREAM) {
    this.rng = new Pcg32(seed, stream);
  }

  gaussian(count: number): Float32Array {
    const out = new Float32Array(count);
    let i = 0;
    if (count > 0 && this.spare !== undefined) {
      out[i++] = this.spare;
      this.spare = undefined;
    }
    for (; i < count; i += 2) {
      const radius = Math.sqrt(-2 * Math.log(this.rng.nextOpenUnit()));
      const angle = 2 * Math.PI * this.rng.nextOpenUnit();
      out[i] = radius * Math.cos(angle);
      const second = radius * Math.sin(angle);
      if (i + 1 < count) out[i + 1] = second;
      else this.spare = second;
    }
    return out;
  }
}

/** `count` standard-normal samples, deterministic in `seed`, as float32 (the initial latents). */
export function gaussianNoise(seed: number | bigint, count: number): Float32Array {
  return new GaussianNoise(seed).gaussian(count);
}
