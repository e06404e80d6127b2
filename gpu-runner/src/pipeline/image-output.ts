import sharp from 'sharp';
import type { ResolvedJobParams } from '@atelier/protocol';
import { PipelineError } from '../errors/pipeline-error.js';
import { provenanceXmp } from './provenance-xmp.js';
import { applyWatermark } from './watermark.js';
import { applyLogoWatermark, type RgbaImage } from './watermark-logo.js';

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

/** How an image is written: its format, the quality of a lossy one, its watermark and the provenance it carries. */
export type ImageEncoding = Pick<ResolvedJobParams, 'outputFormat' | 'outputQuality' | 'provenance' | 'watermark'>;

const DEFAULT_QUALITY = 90;

/**
 * Fixed encoder settings, so the same pixels and the same encoding always give the same
 * bytes (the determinism the server's dedupe and our tests rely on). Encoders are set for
 * speed: PNG at zlib level 2, WebP and AVIF at their lowest effort. PNG keeps adaptive row
 * filtering although it is most of the encode (2–3× the time of unfiltered rows in
 * bench:runner): without it files came out 1.35× (photo-like) to 2× (tiny model) larger,
 * and every stored and downloaded byte costs more than the milliseconds. A watermark that
 * names a logo is drawn from `logo` (sized for this image: watermark-logo.ts), which the
 * caller must then pass.
 */
export async function encodeImage(
  rgb: Buffer,
  width: number,
  height: number,
  encoding: ImageEncoding,
  logo?: RgbaImage,
): Promise<Buffer> {
  const format = encoding.outputFormat;
  const quality = encoding.outputQuality ?? DEFAULT_QUALITY;
  // Never the text instead: the tenant asked for its logo, and a job without it is a bug upstream.
  if (encoding.watermark?.logoAssetId !== undefined && !logo) {
    throw new PipelineError('invalid_params', 'the watermark names a logo that was not loaded');
  }
  try {
    let pixels = rgb;
    if (encoding.watermark) {
      // A copy: the caller may still measure the unmarked pixels (a background's fidelity).
      pixels = Buffer.from(rgb);
      if (logo) applyLogoWatermark(pixels, width, height, encoding.watermark, logo);
      else applyWatermark(pixels, width, height, encoding.watermark);
    }
    let image = sharp(pixels, { raw: { width, height, channels: 3 } });
    if (encoding.provenance) image = image.withXmp(provenanceXmp(encoding.provenance));
    switch (format) {
      case 'png':
        return await image.png({ compressionLevel: 2, adaptiveFiltering: true, palette: false }).toBuffer();
      case 'webp':
        return await image.webp({ quality, effort: 0, smartSubsample: false }).toBuffer();
      case 'jpeg':
        return await image.jpeg({ quality, mozjpeg: false, chromaSubsampling: '4:2:0' }).toBuffer();
      case 'avif':
        return await image.avif({ quality, effort: 0 }).toBuffer();
    }
  } catch (error) {
    throw new PipelineError('encode_failed', `cannot encode a ${width}x${height} ${format}: ${(error as Error).message}`, {
      cause: error,
    });
  }
}
