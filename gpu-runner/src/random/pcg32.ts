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
 * The arithmetic is BigInt for clarity: the pipeline draws at most a few hundred thousand
 * numbers per image, which costs milliseconds next to a single UNet step.
 */

const MULTIPLIER = 6364136223846793005n;
const MASK_64 = (1n << 64n) - 1n;

/** The reference implementation's default stream selector (`PCG32_INITIALIZER`). */
export const DEFAULT_STREAM = 0xda3e39cb94b95bdbn;

export class Pcg32 {
  private state = 0n;
  private readonly increment: bigint;

  constructor(seed: bigint | number, stream: bigint = DEFAULT_STREAM) {
    this.increment = ((BigInt(stream) << 1n) | 1n) & MASK_64;
    this.nextUint32();
    this.state = (this.state + (BigInt(seed) & MASK_64)) & MASK_64;
    this.nextUint32();
  }

  nextUint32(): number {
    const old = this.state;
    this.state = (old * MULTIPLIER + this.increment) & MASK_64;
    const xorShifted = Number((((old >> 18n) ^ old) >> 27n) & 0xffffffffn);
    const rotation = Number(old >> 59n);
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
