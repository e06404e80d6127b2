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
  // A Uint8ClampedArray store is numpy's clamp-and-round in one: it clamps to 0..255 and
  // rounds halves to even (ECMAScript ToUint8Clamp; NaN becomes 0). Clamping after the
  // float32 multiply equals clamping before it, as fround(1 * 255) is exactly 255.
  const rgb = new Uint8ClampedArray(3 * plane);
  for (let c = 0; c < 3; c++) {
    for (let p = 0, source = c * plane, target = c; p < plane; p++, source++, target += 3) {
      rgb[target] = Math.fround(Math.fround(Math.fround(decoded[source]! / 2) + 0.5) * 255);
    }
  }
  return Buffer.from(rgb.buffer, rgb.byteOffset, rgb.byteLength);
}

/**
 * Fixed encoder settings and no metadata, so the same pixels always give the same bytes
 * (the determinism the server's dedupe and our tests rely on).
 */
export async function encodeImage(rgb: Buffer, width: number, height: number, format: OutputFormat): Promise<Buffer> {
  try {
    const image = sharp(rgb, { raw: { width, height, channels: 3 } });
    return format === 'png'
      ? await image.png({ compressionLevel: 2, adaptiveFiltering: true, palette: false }).toBuffer()
      : await image.webp({ quality: 90, effort: 0, smartSubsample: false }).toBuffer();
  } catch (error) {
    throw new PipelineError('encode_failed', `cannot encode a ${width}x${height} ${format}: ${(error as Error).message}`, {
      cause: error,
    });
  }
}
