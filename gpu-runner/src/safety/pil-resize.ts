/**
 * Pillow's `Image.resize` for 8-bit RGB, ported from its Resample.c, so a classifier sees
 * exactly the pixels transformers' image processors (which resize with Pillow) give it
 * during training and evaluation: a separable convolution whose filter widens by the
 * reduction factor (antialiasing), fixed-point coefficients of 22 bits, and a rounding to
 * 8 bits after the horizontal pass and again after the vertical one.
 */

/** Pillow's resampling filters by their `Image.Resampling` value, as `preprocessor_config.json`'s `resample`. */
export const PIL_RESAMPLE = { nearest: 0, lanczos: 1, bilinear: 2, bicubic: 3, box: 4, hamming: 5 } as const;

interface Filter {
  support: number;
  weight(x: number): number;
}

const sinc = (x: number) => (x === 0 ? 1 : Math.sin(Math.PI * x) / (Math.PI * x));

const FILTERS: Record<number, Filter> = {
  [PIL_RESAMPLE.box]: { support: 0.5, weight: (x) => (x > -0.5 && x <= 0.5 ? 1 : 0) },
  [PIL_RESAMPLE.bilinear]: { support: 1, weight: (x) => Math.max(0, 1 - Math.abs(x)) },
  [PIL_RESAMPLE.hamming]: {
    support: 1,
    weight: (x) => {
      const a = Math.abs(x);
      if (a === 0) return 1;
      if (a >= 1) return 0;
      return (Math.sin(Math.PI * a) / (Math.PI * a)) * (0.54 + 0.46 * Math.cos(Math.PI * a));
    },
  },
  [PIL_RESAMPLE.bicubic]: {
    support: 2,
    weight: (x) => {
      const a = -0.5;
      const t = Math.abs(x);
      if (t < 1) return ((a + 2) * t - (a + 3)) * t * t + 1;
      if (t < 2) return (((t - 5) * t + 8) * t - 4) * a;
      return 0;
    },
  },
  [PIL_RESAMPLE.lanczos]: { support: 3, weight: (x) => (x >= -3 && x < 3 ? sinc(x) * sinc(x / 3) : 0) },
};

const PRECISION_BITS = 32 - 8 - 2;

/** Each output pixel's first input pixel and fixed-point weights (Resample.c's precompute_coeffs). */
function coefficients(inSize: number, outSize: number, filter: Filter): { first: Int32Array; weights: Int32Array[] } {
  const scale = inSize / outSize;
  const filterScale = Math.max(scale, 1);
  const support = filter.support * filterScale;
  const first = new Int32Array(outSize);
  const weights: Int32Array[] = [];
  for (let xx = 0; xx < outSize; xx++) {
    const center = (xx + 0.5) * scale;
    // Truncation toward zero, as C's (int) cast.
    const xmin = Math.max(0, Math.trunc(center - support + 0.5));
    const xmax = Math.min(inSize, Math.trunc(center + support + 0.5)) - xmin;
    const raw = new Float64Array(xmax);
    let total = 0;
    for (let x = 0; x < xmax; x++) {
      const w = filter.weight((x + xmin - center + 0.5) / filterScale);
      raw[x] = w;
      total += w;
    }
    const fixed = new Int32Array(xmax);
    for (let x = 0; x < xmax; x++) {
      const w = total === 0 ? raw[x]! : raw[x]! / total;
      fixed[x] = Math.trunc(w < 0 ? -0.5 + w * (1 << PRECISION_BITS) : 0.5 + w * (1 << PRECISION_BITS));
    }
    first[xx] = xmin;
    weights.push(fixed);
  }
  return { first, weights };
}

const clip8 = (sum: number) => Math.min(255, Math.max(0, Math.floor(sum / (1 << PRECISION_BITS))));

/** One pass along x (`horizontal`) or y over interleaved RGB. */
function pass(src: Uint8Array, width: number, height: number, outSize: number, horizontal: boolean, filter: Filter): Uint8Array {
  const { first, weights } = coefficients(horizontal ? width : height, outSize, filter);
  const [outWidth, outHeight] = horizontal ? [outSize, height] : [width, outSize];
  const out = new Uint8Array(outWidth * outHeight * 3);
  const half = 1 << (PRECISION_BITS - 1);
  for (let y = 0; y < outHeight; y++) {
    for (let x = 0; x < outWidth; x++) {
      const along = horizontal ? x : y;
      const k = weights[along]!;
      const start = first[along]!;
      for (let c = 0; c < 3; c++) {
        let sum = half;
        for (let i = 0; i < k.length; i++) {
          const at = horizontal ? (y * width + start + i) * 3 + c : ((start + i) * width + x) * 3 + c;
          sum += src[at]! * k[i]!;
        }
        out[(y * outWidth + x) * 3 + c] = clip8(sum);
      }
    }
  }
  return out;
}

/** `Image.resize((width, height), resample)` of 8-bit RGB; nearest picks the pixel under each output centre. */
export function pilResize(
  rgb: Uint8Array,
  width: number,
  height: number,
  outWidth: number,
  outHeight: number,
  resample: number,
): Uint8Array {
  if (resample === PIL_RESAMPLE.nearest) {
    const out = new Uint8Array(outWidth * outHeight * 3);
    for (let y = 0; y < outHeight; y++) {
      const sy = Math.min(height - 1, Math.floor(((y + 0.5) * height) / outHeight));
      for (let x = 0; x < outWidth; x++) {
        const sx = Math.min(width - 1, Math.floor(((x + 0.5) * width) / outWidth));
        out.set(rgb.subarray((sy * width + sx) * 3, (sy * width + sx) * 3 + 3), (y * outWidth + x) * 3);
      }
    }
    return out;
  }
  const filter = FILTERS[resample];
  if (!filter) throw new Error(`resample ${resample} is not one of Pillow's filters (0–5)`);
  // Pillow's order: horizontal first, each pass only when that side changes.
  let pixels = rgb;
  let currentWidth = width;
  if (outWidth !== width) {
    pixels = pass(pixels, width, height, outWidth, true, filter);
    currentWidth = outWidth;
  }
  if (outHeight !== height) pixels = pass(pixels, currentWidth, height, outHeight, false, filter);
  return pixels;
}
