/**
 * Binary image frames on the runner socket:
 * `[u32 big-endian header length][header JSON, UTF-8][image bytes]`.
 */
import type { OutputFormat } from './generation.js';
import type { LeaseRef } from './runner.js';

export interface ImageFrameHeader extends LeaseRef {
  type: 'image';
  index: number;
  width: number;
  height: number;
  format: OutputFormat;
  seed: number;
  /**
   * Background mode only: the largest 8-bit difference between the result and the input
   * product photo inside the product mask, away from a thin edge band. 0 means the
   * product's pixels are untouched.
   */
  productFidelity?: number;
}

export function encodeImageFrame(header: ImageFrameHeader, bytes: Uint8Array): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(header));
  const frame = new Uint8Array(4 + json.length + bytes.length);
  new DataView(frame.buffer).setUint32(0, json.length, false);
  frame.set(json, 4);
  frame.set(bytes, 4 + json.length);
  return frame;
}

/** The frame split into its parts; the header is JSON still to be validated (see ./schemas). */
export type SplitImageFrame = { ok: true; header: unknown; bytes: Uint8Array } | { ok: false; reason: string };

export function splitImageFrame(frame: Uint8Array): SplitImageFrame {
  if (frame.length < 4) return { ok: false, reason: 'frame shorter than its length prefix' };
  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  const headerLength = view.getUint32(0, false);
  if (headerLength === 0 || 4 + headerLength > frame.length) {
    return { ok: false, reason: `header length ${headerLength} does not fit a ${frame.length}-byte frame` };
  }
  try {
    const text = new TextDecoder('utf-8', { fatal: true }).decode(frame.subarray(4, 4 + headerLength));
    return { ok: true, header: JSON.parse(text) as unknown, bytes: frame.subarray(4 + headerLength) };
  } catch {
    return { ok: false, reason: 'header is not UTF-8 JSON' };
  }
}
