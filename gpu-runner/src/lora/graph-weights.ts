import { closeSync, openSync, readSync } from 'node:fs';
import { join } from 'node:path';
import onnxProto from 'onnx-proto';
import { PipelineError } from '../errors/pipeline-error.js';
import { fromFloat16, toFloat16 } from '../onnx/float16.js';

const { onnx } = onnxProto;
type Tensor = onnxProto.onnx.ITensorProto;

/**
 * How a layer's weight is stored. PyTorch keeps nn.Linear as [out, in] and Conv as
 * [out, in, kh, kw]; the exporter folds Linear's transpose into the constant, so an
 * exported MatMul weight is [in, out] (`in-out`) under a made-up `onnx::MatMul_<n>` name.
 */
export type WeightLayout = 'in-out' | 'out-in';

export interface WeightTarget {
  initializer: Tensor;
  layout: WeightLayout;
  /** The node (or initializer) it was found through, for messages. */
  via: string;
}

/**
 * The weights of one ONNX graph addressed by PyTorch module path. Exported initializers
 * are often renamed and transposed, but `torch.onnx.export` names nodes after the module
 * that made them (`/down_blocks.1/attentions.0/transformer_blocks.0/attn2/to_q/MatMul`),
 * so a layer is found through its MatMul/Gemm/Conv node and that node's constant weight
 * input, directly or through a Transpose. Initializers that kept `<module>.weight` (convs
 * usually do) are found by name when no node says more.
 */
export class GraphWeights {
  private readonly byPath = new Map<string, WeightTarget | 'ambiguous'>();
  /** kohya's flattened path → the module path, or undefined where two module paths flatten alike. */
  private readonly byFlatPath = new Map<string, string | undefined>();

  private constructor(
    private readonly model: onnxProto.onnx.ModelProto,
    /** Where `model.onnx_data`-style external initializers live. */
    private readonly externalDir: string | undefined,
  ) {
    const nodes = model.graph?.node ?? [];
    const initializers = new Map((model.graph?.initializer ?? []).map((t) => [t.name!, t]));
    const producers = new Map<string, onnxProto.onnx.INodeProto>();
    for (const node of nodes) for (const output of node.output ?? []) producers.set(output, node);

    for (const node of nodes) {
      const name = node.name ?? '';
      if (!name.startsWith('/') || !['MatMul', 'Gemm', 'Conv'].includes(node.opType ?? '')) continue;
      const path = name.slice(1).split('/').slice(0, -1).join('.');
      const weightName = node.input?.[1];
      if (!path || !weightName) continue;
      const target = constantWeight(node, weightName, initializers, producers);
      if (!target) continue; // an activation × activation MatMul (attention scores)
      const known = this.byPath.get(path);
      this.byPath.set(path, known && (known === 'ambiguous' || known.initializer !== target.initializer) ? 'ambiguous' : target);
    }
    for (const [name, initializer] of initializers) {
      const path = name.endsWith('.weight') ? name.slice(0, -'.weight'.length) : undefined;
      if (path && !this.byPath.has(path) && (initializer.dims?.length ?? 0) >= 2)
        this.byPath.set(path, { initializer, layout: 'out-in', via: name });
    }
    for (const path of this.byPath.keys()) {
      const flat = path.replace(/\./g, '_');
      this.byFlatPath.set(flat, this.byFlatPath.has(flat) ? undefined : path);
    }
  }

  static decode(bytes: Uint8Array, label: string, externalDir?: string): GraphWeights {
    try {
      return new GraphWeights(onnx.ModelProto.decode(bytes), externalDir);
    } catch (error) {
      throw new PipelineError('model_invalid', `${label} is not a readable ONNX model: ${(error as Error).message}`, {
        cause: error,
      });
    }
  }

  /** The weight of the module at a dotted path, or of a kohya-flattened one. */
  find(module: { style: 'diffusers'; path: string } | { style: 'kohya'; flat: string }): WeightTarget | 'ambiguous' | undefined {
    if (module.style === 'diffusers') return this.byPath.get(module.path);
    if (!this.byFlatPath.has(module.flat)) return undefined;
    const path = this.byFlatPath.get(module.flat);
    return path === undefined ? 'ambiguous' : this.byPath.get(path);
  }

  /** Module paths that have a weight, for error messages and tests. */
  get modulePaths(): string[] {
    return [...this.byPath.keys()];
  }

  /** The weight in float32; an fp16 export's float16 weights are widened (exactly). */
  read(initializer: Tensor): Float32Array {
    if (initializer.dataType === onnx.TensorProto.DataType.FLOAT16) return fromFloat16(this.readHalves(initializer));
    if (initializer.dataType !== onnx.TensorProto.DataType.FLOAT) {
      throw new PipelineError(
        'model_invalid',
        `initializer "${initializer.name}" is neither float32 nor float16; LoRAs cannot be merged into it`,
      );
    }
    if (initializer.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL) return this.readExternal(initializer, 4);
    if (initializer.rawData?.length) {
      const raw = initializer.rawData;
      // Copied: rawData is a view into the decoded buffer, not necessarily 4-byte aligned.
      return new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
    }
    return Float32Array.from(initializer.floatData ?? []);
  }

  /** Stores merged values in the initializer's own type (float16 rounded to nearest even). */
  write(initializer: Tensor, values: Float32Array): void {
    const stored = initializer.dataType === onnx.TensorProto.DataType.FLOAT16 ? toFloat16(values) : values;
    initializer.rawData = new Uint8Array(stored.buffer, stored.byteOffset, stored.byteLength);
    initializer.floatData = [];
    initializer.int32Data = [];
    initializer.externalData = [];
    initializer.dataLocation = onnx.TensorProto.DataLocation.DEFAULT;
  }

  /** Bytes of the initializers still read from external-data files (a session loads its own copy). */
  externalBytes(): number {
    let total = 0;
    for (const initializer of this.model.graph?.initializer ?? []) {
      if (initializer.dataLocation !== onnx.TensorProto.DataLocation.EXTERNAL) continue;
      const length = initializer.externalData?.find((e) => e.key === 'length')?.value;
      const width = initializer.dataType === onnx.TensorProto.DataType.FLOAT16 ? 2 : 4;
      total += length ? Number(length) : dimsOf(initializer).reduce((a, b) => a * b, width);
    }
    return total;
  }

  encode(): Uint8Array {
    return onnx.ModelProto.encode(this.model).finish();
  }

  /** A float16 initializer's bits: raw bytes, external data, or int32_data (one half per entry, as the ONNX spec stores them). */
  private readHalves(initializer: Tensor): Uint16Array {
    if (initializer.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL) {
      const bytes = this.readExternal(initializer, 2);
      return new Uint16Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 2);
    }
    if (initializer.rawData?.length) {
      const raw = initializer.rawData;
      return new Uint16Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
    }
    return Uint16Array.from(initializer.int32Data ?? []);
  }

  private readExternal(initializer: Tensor, bytesPerValue: 2): Uint8Array;
  private readExternal(initializer: Tensor, bytesPerValue: 4): Float32Array;
  private readExternal(initializer: Tensor, bytesPerValue: 2 | 4): Float32Array | Uint8Array {
    const entries = new Map((initializer.externalData ?? []).map((e) => [e.key ?? '', e.value ?? '']));
    const location = entries.get('location');
    if (!this.externalDir || !location)
      throw new PipelineError(
        'model_invalid',
        `initializer "${initializer.name}" has external data but no location to read it from`,
      );
    const count = (initializer.dims ?? []).reduce<number>((a, d) => a * Number(d), 1);
    const bytes = new Uint8Array(count * bytesPerValue);
    const fd = openSync(join(this.externalDir, location), 'r');
    try {
      const read = readSync(fd, bytes, 0, bytes.byteLength, Number(entries.get('offset') ?? 0));
      if (read !== bytes.byteLength)
        throw new PipelineError('model_invalid', `external data of "${initializer.name}" is truncated`);
    } finally {
      closeSync(fd);
    }
    return bytesPerValue === 4 ? new Float32Array(bytes.buffer) : bytes;
  }
}

export function dimsOf(initializer: Tensor): number[] {
  return (initializer.dims ?? []).map((d) => Number(d));
}

function constantWeight(
  node: onnxProto.onnx.INodeProto,
  weightName: string,
  initializers: Map<string, Tensor>,
  producers: Map<string, onnxProto.onnx.INodeProto>,
): WeightTarget | undefined {
  const via = node.name!;
  const direct = initializers.get(weightName);
  if (direct) {
    if (node.opType === 'Conv') return { initializer: direct, layout: 'out-in', via };
    const transB = node.opType === 'Gemm' && node.attribute?.some((a) => a.name === 'transB' && Number(a.i) === 1);
    return { initializer: direct, layout: transB ? 'out-in' : 'in-out', via };
  }
  // Exports without constant folding keep Linear's transpose as a node.
  const producer = producers.get(weightName);
  const source = producer?.opType === 'Transpose' ? initializers.get(producer.input?.[0] ?? '') : undefined;
  if (source && dimsOf(source).length === 2 && node.opType === 'MatMul') return { initializer: source, layout: 'out-in', via };
  return undefined;
}
