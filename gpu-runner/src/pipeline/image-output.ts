import sharp from 'sharp';
import type { OutputFormat } from '@atelier/protocol';
import { PipelineError } from '../errors/pipeline-error.js';

/**
 * Decoder output [1, 3, H, W] in [-1, 1] → interleaved 8-bit RGB, exactly as diffusers'
 * VaeImageProcessor: (x / 2 + 0.5).clamp(0, 1), then numpy's (x * 255).round(), which
 * rounds halves to even.
 */
export function toRgb8(decoded: Float32Array, width: number, height: number): Buffer {
  const plane = width * height;
  if (decoded.length !== 3 * plane) throw new Error(`decoded image has ${decoded.length} values, expected ${3 * plane}`);
  const f = Math.fround;
  const rgb = Buffer.alloc(3 * plane);
  for (let c = 0; c < 3; c++) {
    for (let p = 0; p < plane; p++) {
      const unit = Math.min(1, Math.max(0, f(f(decoded[c * plane + p]! / 2) + 0.5)));
      rgb[p * 3 + c] = roundHalfEven(f(unit * 255));
    }
  }
  return rgb;
}

/**
 * Fixed encoder settings and no metadata, so the same pixels always give the same bytes
 * (the determinism the server's dedupe and our tests rely on).
 */
export async function encodeImage(rgb: Buffer, width: number, height: number, format: OutputFormat): Promise<Buffer> {
  try {
    const image = sharp(rgb, { raw: { width, height, channels: 3 } });
    return format === 'png'
      ? await image.png({ compressionLevel: 6, adaptiveFiltering: false, palette: false }).toBuffer()
      : await image.webp({ quality: 90, effort: 4, smartSubsample: false }).toBuffer();
  } catch (error) {
    throw new PipelineError('encode_failed', `cannot encode a ${width}x${height} ${format}: ${(error as Error).message}`, {
      cause: error,
    });
  }
}

function roundHalfEven(x: number): number {
  const floor = Math.floor(x);
  const diff = x - floor;
  if (diff !== 0.5) return Math.round(x);
  return floor % 2 === 0 ? floor : floor + 1;
}
