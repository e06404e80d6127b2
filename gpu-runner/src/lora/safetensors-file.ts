import { parseSafetensorsHeader } from '@atelier/protocol';
import { PipelineError } from '../errors/pipeline-error.js';

export interface FloatTensor {
  shape: number[];
  data: Float32Array;
}

export interface SafetensorsFile {
  tensors: Map<string, FloatTensor>;
  metadata: Record<string, string>;
}

/**
 * Reads every tensor of a `.safetensors` file as float32 (F32, F16 and BF16 are widened
 * exactly; LoRAs are shipped in all three). `label` names the file in errors.
 */
export function readSafetensors(bytes: Uint8Array, label: string): SafetensorsFile {
  const header = parseSafetensorsHeader(bytes);
  if (!header.ok) throw new PipelineError('invalid_params', `${label} is not a valid .safetensors file: ${header.reason}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const tensors = new Map<string, FloatTensor>();
  for (const { name, dtype, shape, begin } of header.tensors) {
    const count = shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(count);
    switch (dtype) {
      case 'F32':
        for (let i = 0; i < count; i++) data[i] = view.getFloat32(begin + 4 * i, true);
        break;
      case 'F16':
        for (let i = 0; i < count; i++) data[i] = halfToFloat(view.getUint16(begin + 2 * i, true));
        break;
      case 'BF16':
        // bfloat16 is the top half of a float32.
        for (let i = 0; i < count; i++) data[i] = bitsToFloat(view.getUint16(begin + 2 * i, true) << 16);
        break;
      default:
        throw new PipelineError(
          'invalid_params',
          `${label}: tensor "${name}" is ${dtype}; LoRA tensors must be F32, F16 or BF16`,
        );
    }
    tensors.set(name, { shape, data });
  }
  return { tensors, metadata: header.metadata };
}

/** A float32 `.safetensors` file, tensors in the given order, the header padded to 8 bytes as the reference writer does. */
export function writeSafetensors(tensors: ReadonlyMap<string, FloatTensor>, metadata: Record<string, string> = {}): Uint8Array {
  const header: Record<string, unknown> = Object.keys(metadata).length > 0 ? { __metadata__: metadata } : {};
  let offset = 0;
  for (const [name, { shape, data }] of tensors) {
    header[name] = { dtype: 'F32', shape, data_offsets: [offset, offset + data.byteLength] };
    offset += data.byteLength;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - ((8 + Buffer.byteLength(json)) % 8)) % 8);
  const headerBytes = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + headerBytes.length + offset);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  let at = 8 + headerBytes.length;
  for (const { data } of tensors.values()) {
    for (let i = 0; i < data.length; i++) view.setFloat32(at + 4 * i, data[i]!, true);
    at += data.byteLength;
  }
  return out;
}

const scratch = new DataView(new ArrayBuffer(4));

function bitsToFloat(bits: number): number {
  scratch.setUint32(0, bits >>> 0);
  return scratch.getFloat32(0);
}

function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exponent = (h >> 10) & 0x1f;
  const fraction = h & 0x3ff;
  if (exponent === 0) return sign * fraction * 2 ** -24;
  if (exponent === 0x1f) return fraction ? NaN : sign * Infinity;
  return sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
}
