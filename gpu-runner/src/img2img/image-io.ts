import sharp from 'sharp';
import { PipelineError } from '../errors/pipeline-error.js';

/** Interleaved 8-bit pixels. */
export interface Pixels {
  data: Buffer;
  width: number;
  height: number;
  channels: 3 | 4;
}

/** The job's input file as RGBA, as uploaded (no resampling), and whether it has alpha. */
export async function readRgba(path: string): Promise<{ pixels: Pixels; hasAlpha: boolean }> {
  try {
    const image = sharp(path, { failOn: 'error' });
    const { hasAlpha } = await image.metadata();
    const { data, info } = await image.ensureAlpha().raw().toBuffer({ resolveWithObject: true });
    return { pixels: { data, width: info.width, height: info.height, channels: 4 }, hasAlpha };
  } catch (error) {
    throw new PipelineError('invalid_params', `the input image cannot be decoded: ${(error as Error).message}`, { cause: error });
  }
}

/**
 * The top-left `width` x `height` of `pixels`: a job's size is the input's rounded down to
 * the VAE's multiple of 8, and cropping (not resampling) keeps every kept pixel exact.
 */
export function crop(pixels: Pixels, width: number, height: number): Pixels {
  if (width > pixels.width || height > pixels.height) {
    throw new PipelineError(
      'invalid_params',
      `a ${width}x${height} job cannot come from a ${pixels.width}x${pixels.height} input`,
    );
  }
  if (width === pixels.width && height === pixels.height) return pixels;
  const { channels } = pixels;
  const data = Buffer.alloc(width * height * channels);
  for (let y = 0; y < height; y++) {
    pixels.data.copy(data, y * width * channels, y * pixels.width * channels, (y * pixels.width + width) * channels);
  }
  return { data, width, height, channels };
}

/** Resamples to an exact size (Lanczos), keeping the channel count. */
export async function resize(pixels: Pixels, width: number, height: number): Promise<Pixels> {
  if (width === pixels.width && height === pixels.height) return pixels;
  const { data, info } = await sharp(pixels.data, {
    raw: { width: pixels.width, height: pixels.height, channels: pixels.channels },
  })
    .resize(width, height, { fit: 'fill', kernel: 'lanczos3' })
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height, channels: pixels.channels };
}

/** RGB(A) pixels → NCHW float32 RGB [1,3,H,W], mapped from 0–255 to [lo, hi]. */
export function toNchw(pixels: Pixels, lo: number, hi: number): Float32Array {
  const { width, height, channels } = pixels;
  const plane = width * height;
  const out = new Float32Array(3 * plane);
  const scale = (hi - lo) / 255;
  for (let p = 0; p < plane; p++) {
    for (let c = 0; c < 3; c++) out[c * plane + p] = lo + pixels.data[p * channels + c]! * scale;
  }
  return out;
}

/** NCHW float32 RGB in [lo, hi] → 8-bit RGB, clamped and rounded. */
export function fromNchw(data: Float32Array, width: number, height: number, lo: number, hi: number): Pixels {
  const plane = width * height;
  const out = Buffer.alloc(3 * plane);
  for (let p = 0; p < plane; p++) {
    for (let c = 0; c < 3; c++) {
      const unit = (data[c * plane + p]! - lo) / (hi - lo);
      out[p * 3 + c] = Math.round(Math.min(1, Math.max(0, unit)) * 255);
    }
  }
  return { data: out, width, height, channels: 3 };
}

/** 8-bit RGB of an encoded image, to measure what was actually delivered. */
export async function decodeRgb(bytes: Uint8Array): Promise<Pixels> {
  const { data, info } = await sharp(bytes).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height, channels: 3 };
}
