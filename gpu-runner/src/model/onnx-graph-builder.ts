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
 */
export class GraphBuilder {
  private readonly nodes: onnxProto.onnx.INodeProto[] = [];
  private readonly initializers: onnxProto.onnx.ITensorProto[] = [];
  private readonly inputs: onnxProto.onnx.IValueInfoProto[] = [];
  private readonly outputs: onnxProto.onnx.IValueInfoProto[] = [];
  private nextId = 0;
  private nextWeightStream = 0;

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

  /** Adds one node and returns its output names (generated unless given). */
  node(opType: string, inputs: string[], attributes: Record<string, Attribute> = {}, outputs?: string[] | number): string[] {
    const names = Array.isArray(outputs)
      ? outputs
      : Array.from({ length: outputs ?? 1 }, () => `${opType.toLowerCase()}_${this.nextId++}`);
    this.nodes.push({
      opType,
      name: `${opType}_${this.nodes.length}`,
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
