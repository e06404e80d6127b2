import onnxProto from 'onnx-proto';
import { gaussianNoise } from '../random/pcg32.js';

const { onnx } = onnxProto;

export type Dim = number | string;
export type ElementType = 'float32' | 'int32' | 'int64';

const ELEMENT_TYPES: Record<ElementType, number> = {
  float32: onnx.TensorProto.DataType.FLOAT,
  int32: onnx.TensorProto.DataType.INT32,
  int64: onnx.TensorProto.DataType.INT64,
};

export type Attribute =
  | { kind: 'int'; value: number }
  | { kind: 'float'; value: number }
  | { kind: 'ints'; value: number[] }
  | { kind: 'string'; value: string };

export const int = (value: number): Attribute => ({ kind: 'int', value });
export const float = (value: number): Attribute => ({ kind: 'float', value });
export const ints = (value: number[]): Attribute => ({ kind: 'ints', value });
export const str = (value: string): Attribute => ({ kind: 'string', value });

/**
 * A small helper for writing ONNX graphs by hand: named inputs/outputs with symbolic
 * dims, float32 initializers drawn from a seeded Gaussian stream (so the same seed always
 * writes the same bytes), and nodes whose intermediate names are generated.
 *
 * Nodes added through `scope(modulePath)` are named the way `torch.onnx.export` names
 * them in a real Optimum export (`/down_blocks.1/attentions.0/.../to_q/MatMul`), and
 * `linear` stores a weight as the exporter does: transposed to [in, out] under a
 * generated `onnx::MatMul_<n>` name, the bias keeping its module name. LoRA mapping finds
 * weights through those node names, so the tiny model exercises it as a real one would.
 */
export class GraphBuilder {
  private readonly nodes: onnxProto.onnx.INodeProto[] = [];
  private readonly initializers: onnxProto.onnx.ITensorProto[] = [];
  private readonly inputs: onnxProto.onnx.IValueInfoProto[] = [];
  private readonly outputs: onnxProto.onnx.IValueInfoProto[] = [];
  private nextId = 0;
  private nextWeightStream = 0;
  /** Real exports number renamed initializers from the graph's value counter; any start will do. */
  private nextExportedId = 1000;
  private readonly scopeCounts = new Map<string, number>();

  constructor(
    private readonly name: string,
    private readonly seed: number,
  ) {}

  input(name: string, type: ElementType, dims: Dim[]): string {
    this.inputs.push(valueInfo(name, type, dims));
    return name;
  }

  /** Declares `name` (already produced by a node) as a graph output. */
  output(name: string, type: ElementType, dims: Dim[]): void {
    this.outputs.push(valueInfo(name, type, dims));
  }

  /** A float32 initializer of N(0, std²) values from this graph's seeded stream. */
  random(name: string, dims: number[], std: number): string {
    const count = dims.reduce((a, b) => a * b, 1);
    const noise = gaussianNoise(BigInt(this.seed) * 4096n + BigInt(this.nextWeightStream++), count);
    for (let i = 0; i < count; i++) noise[i] = noise[i]! * std;
    return this.floats(name, dims, noise);
  }

  floats(name: string, dims: number[], values: Float32Array | number[]): string {
    const data = values instanceof Float32Array ? values : Float32Array.from(values);
    this.initializers.push({
      name,
      dims,
      dataType: ELEMENT_TYPES.float32,
      rawData: new Uint8Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength)),
    });
    return name;
  }

  int64s(name: string, dims: number[], values: number[]): string {
    this.initializers.push({ name, dims, dataType: ELEMENT_TYPES.int64, int64Data: values });
    return name;
  }

  /** Nodes named as the exporter names those of the PyTorch module at `modulePath` (dotted). */
  scope(modulePath: string): ModuleScope {
    return new ModuleScope(this, modulePath);
  }

  /** `onnx::<Op>_<n>`: the exporter's name for a constant it had to rename (e.g. a transposed weight). */
  exportedName(opType: string): string {
    return `onnx::${opType}_${this.nextExportedId++}`;
  }

  /** The exporter's node name for the next `opType` node under `/scope/...`: `Op`, `Op_1`, `Op_2`, ... */
  scopedNodeName(scopePath: string, opType: string): string {
    const key = `${scopePath}/${opType}`;
    const count = this.scopeCounts.get(key) ?? 0;
    this.scopeCounts.set(key, count + 1);
    return count === 0 ? key : `${key}_${count}`;
  }

  /** Adds one node and returns its output names (generated unless given). */
  node(
    opType: string,
    inputs: string[],
    attributes: Record<string, Attribute> = {},
    outputs?: string[] | number,
    nodeName?: string,
  ): string[] {
    const names = Array.isArray(outputs)
      ? outputs
      : nodeName
        ? Array.from({ length: outputs ?? 1 }, (_, i) => `${nodeName}_output_${i}`)
        : Array.from({ length: outputs ?? 1 }, () => `${opType.toLowerCase()}_${this.nextId++}`);
    this.nodes.push({
      opType,
      name: nodeName ?? `${opType}_${this.nodes.length}`,
      input: inputs,
      output: names,
      attribute: Object.entries(attributes).map(([key, attribute]) => toAttributeProto(key, attribute)),
    });
    return names;
  }

  /** Single-output shorthand for `node`. */
  op(opType: string, inputs: string[], attributes: Record<string, Attribute> = {}, output?: string): string {
    return this.node(opType, inputs, attributes, output === undefined ? 1 : [output])[0]!;
  }

  /** The serialized ModelProto (IR 8, default domain opset 17). */
  toBytes(): Uint8Array {
    const model = onnx.ModelProto.create({
      irVersion: 8,
      opsetImport: [{ domain: '', version: 17 }],
      producerName: 'atelier-tiny-sdxl',
      producerVersion: '1',
      graph: {
        name: this.name,
        node: this.nodes,
        initializer: this.initializers,
        input: this.inputs,
        output: this.outputs,
      },
    });
    return onnx.ModelProto.encode(model).finish();
  }
}

/**
 * Nodes of one PyTorch module, e.g. `down_blocks.1.attentions.0.transformer_blocks.0.attn2`:
 * named `/down_blocks.1/attentions.0/transformer_blocks.0/attn2/<Op>` as the exporter does.
 */
export class ModuleScope {
  private readonly path: string;

  constructor(
    private readonly g: GraphBuilder,
    readonly modulePath: string,
  ) {
    this.path = `/${modulePath.split('.').reduce<string[]>(joinIndices, []).join('/')}`;
  }

  op(opType: string, inputs: string[], attributes: Record<string, Attribute> = {}, output?: string): string {
    return this.g.node(
      opType,
      inputs,
      attributes,
      output === undefined ? 1 : [output],
      this.g.scopedNodeName(this.path, opType),
    )[0]!;
  }

  /**
   * nn.Linear as exported: MatMul with the weight transposed to [in, out] under an
   * `onnx::MatMul_<n>` name, then Add of `<module>.bias` when the layer has one.
   * `bias` true draws it from the seeded stream after the weight.
   */
  linear(x: string, inWidth: number, outWidth: number, std: number, bias?: { std: number }, output?: string): string {
    const weight = this.g.random(this.g.exportedName('MatMul'), [inWidth, outWidth], std);
    if (!bias) return this.op('MatMul', [x, weight], {}, output);
    const product = this.op('MatMul', [x, weight]);
    return this.op('Add', [product, this.g.random(`${this.modulePath}.bias`, [outWidth], bias.std)], {}, output);
  }

  /** A child module's scope: `scope('attn2').child('to_q')`. */
  child(name: string): ModuleScope {
    return new ModuleScope(this.g, `${this.modulePath}.${name}`);
  }
}

/** torch keeps list indices with their attribute (`down_blocks.1`, `net.0`), one path segment each. */
function joinIndices(segments: string[], part: string): string[] {
  if (/^\d+$/.test(part) && segments.length > 0) segments[segments.length - 1] += `.${part}`;
  else segments.push(part);
  return segments;
}

function valueInfo(name: string, type: ElementType, dims: Dim[]): onnxProto.onnx.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType: ELEMENT_TYPES[type],
        shape: { dim: dims.map((d) => (typeof d === 'string' ? { dimParam: d } : { dimValue: d })) },
      },
    },
  };
}

function toAttributeProto(name: string, attribute: Attribute): onnxProto.onnx.IAttributeProto {
  const { AttributeType } = onnx.AttributeProto;
  switch (attribute.kind) {
    case 'int':
      return { name, type: AttributeType.INT, i: attribute.value };
    case 'float':
      return { name, type: AttributeType.FLOAT, f: attribute.value };
    case 'ints':
      return { name, type: AttributeType.INTS, ints: attribute.value };
    case 'string':
      return { name, type: AttributeType.STRING, s: new TextEncoder().encode(attribute.value) };
  }
}
