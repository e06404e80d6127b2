import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;
const { FLOAT, FLOAT16 } = onnx.TensorProto.DataType;

/**
 * A float32 graph as an fp16 export looks from outside: every float input and output
 * declared float16, with Cast nodes at the boundary and float32 inside (onnxruntime's CPU
 * provider lacks float16 kernels for most operators, which a CUDA deployment has). The
 * tiny model's fp16 variant is made with it, so the runner's float16 conversion at the
 * session boundary (onnx/float16.ts) is tested in CI.
 */
export function float16Io(bytes: Uint8Array): Uint8Array {
  const model = onnx.ModelProto.decode(bytes);
  const graph = model.graph!;
  const nodes = graph.node ?? [];
  const rename = (from: string, to: string) => {
    for (const node of nodes) node.input = (node.input ?? []).map((name) => (name === from ? to : name));
  };
  const casts: { head: onnxProto.onnx.INodeProto[]; tail: onnxProto.onnx.INodeProto[] } = { head: [], tail: [] };
  for (const input of graph.input ?? []) {
    const tensor = input.type?.tensorType;
    if (!tensor || tensor.elemType !== FLOAT) continue;
    const inside = `${input.name}/float32`;
    rename(input.name!, inside);
    tensor.elemType = FLOAT16;
    casts.head.push(cast(input.name!, inside, FLOAT));
  }
  for (const output of graph.output ?? []) {
    const tensor = output.type?.tensorType;
    if (!tensor || tensor.elemType !== FLOAT) continue;
    const inside = `${output.name}/float32`;
    rename(output.name!, inside);
    for (const node of nodes) node.output = (node.output ?? []).map((name) => (name === output.name ? inside : name));
    tensor.elemType = FLOAT16;
    casts.tail.push(cast(inside, output.name!, FLOAT16));
  }
  graph.node = [...casts.head, ...nodes, ...casts.tail];
  return onnx.ModelProto.encode(model).finish();
}

function cast(input: string, output: string, to: number): onnxProto.onnx.INodeProto {
  return {
    name: `/Cast_${output}`,
    opType: 'Cast',
    input: [input],
    output: [output],
    attribute: [{ name: 'to', type: onnx.AttributeProto.AttributeType.INT, i: to }],
  };
}
