/**
 * The `.safetensors` layout (Hugging Face): an 8-byte little-endian header length N, N
 * bytes of JSON mapping tensor names to `{dtype, shape, data_offsets}` (offsets relative
 * to the byte after the header) plus an optional `__metadata__` string map, then the raw
 * little-endian tensor bytes. The server checks an uploaded LoRA's header with this before
 * storing it; the runner reads the same header before merging the tensors.
 */

/** Bytes per element of each dtype the format names. */
export const SAFETENSORS_DTYPE_BYTES = {
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  I64: 8,
  I32: 4,
  I16: 2,
  I8: 1,
  U8: 1,
  BOOL: 1,
} as const;
export type SafetensorsDtype = keyof typeof SAFETENSORS_DTYPE_BYTES;

export interface SafetensorsTensorInfo {
  name: string;
  dtype: SafetensorsDtype;
  shape: number[];
  /** Absolute byte range in the file: [begin, end). */
  begin: number;
  end: number;
}

export interface SafetensorsHeader {
  tensors: SafetensorsTensorInfo[];
  metadata: Record<string, string>;
}

export type SafetensorsHeaderResult = ({ ok: true } & SafetensorsHeader) | { ok: false; reason: string };

/** The format's own cap on the JSON header (safetensors refuses larger ones too). */
export const SAFETENSORS_MAX_HEADER_BYTES = 100_000_000;

/**
 * Checks the header against the whole file: valid JSON, known dtypes, offsets that match
 * each shape and tile the data section exactly (no gaps, no overlaps, nothing past the end).
 */
export function parseSafetensorsHeader(bytes: Uint8Array): SafetensorsHeaderResult {
  if (bytes.length < 8) return { ok: false, reason: 'file is shorter than the 8-byte header length' };
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = view.getBigUint64(0, true);
  if (headerLength > BigInt(Math.min(SAFETENSORS_MAX_HEADER_BYTES, bytes.length - 8)))
    return { ok: false, reason: `header length ${headerLength} does not fit in the file` };
  const dataStart = 8 + Number(headerLength);
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, dataStart)));
  } catch {
    return { ok: false, reason: 'header is not UTF-8 JSON' };
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json))
    return { ok: false, reason: 'header is not a JSON object' };

  const tensors: SafetensorsTensorInfo[] = [];
  let metadata: Record<string, string> = {};
  for (const [name, entry] of Object.entries(json)) {
    if (name === '__metadata__') {
      if (typeof entry !== 'object' || entry === null || Object.values(entry as object).some((v) => typeof v !== 'string'))
        return { ok: false, reason: '__metadata__ must map strings to strings' };
      metadata = entry as Record<string, string>;
      continue;
    }
    const tensor = tensorInfo(name, entry, dataStart);
    if (typeof tensor === 'string') return { ok: false, reason: tensor };
    tensors.push(tensor);
  }
  let expected = dataStart;
  for (const tensor of [...tensors].sort((a, b) => a.begin - b.begin || a.end - b.end)) {
    if (tensor.begin !== expected) return { ok: false, reason: `tensor "${tensor.name}" leaves a gap or overlaps another` };
    expected = tensor.end;
  }
  if (expected !== bytes.length)
    return {
      ok: false,
      reason: `data section is ${bytes.length - dataStart} bytes but the tensors cover ${expected - dataStart}`,
    };
  return { ok: true, tensors, metadata };
}

function tensorInfo(name: string, entry: unknown, dataStart: number): SafetensorsTensorInfo | string {
  if (typeof entry !== 'object' || entry === null) return `tensor "${name}" is not an object`;
  const { dtype, shape, data_offsets: offsets } = entry as Record<string, unknown>;
  if (typeof dtype !== 'string' || !Object.hasOwn(SAFETENSORS_DTYPE_BYTES, dtype))
    return `tensor "${name}" has unknown dtype ${JSON.stringify(dtype)}`;
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && (d as number) >= 0))
    return `tensor "${name}" has an invalid shape`;
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o) && (o as number) >= 0))
    return `tensor "${name}" has invalid data_offsets`;
  const [begin, end] = offsets as [number, number];
  const size = (shape as number[]).reduce((a, b) => a * b, 1) * SAFETENSORS_DTYPE_BYTES[dtype as SafetensorsDtype];
  if (end - begin !== size) return `tensor "${name}" spans ${end - begin} bytes but its shape and dtype need ${size}`;
  return { name, dtype: dtype as SafetensorsDtype, shape: shape as number[], begin: dataStart + begin, end: dataStart + end };
}
