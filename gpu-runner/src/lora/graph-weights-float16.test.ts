import onnxProto from 'onnx-proto';
import { describe, expect, it } from 'vitest';
import { fromFloat16, toFloat16 } from '../onnx/float16.js';
import { GraphWeights, type WeightTarget } from './graph-weights.js';

const { onnx } = onnxProto;

/** One exported Linear (`/attn2/to_q/MatMul` on an `onnx::MatMul_7` weight) with float16 weights, as an fp16 export stores it. */
function fp16Linear(weights: Float32Array): Uint8Array {
  const halves = toFloat16(weights);
  return onnx.ModelProto.encode({
    irVersion: 8,
    opsetImport: [{ domain: '', version: 17 }],
    graph: {
      name: 'fp16',
      node: [{ name: '/attn2/to_q/MatMul', opType: 'MatMul', input: ['x', 'onnx::MatMul_7'], output: ['y'] }],
      initializer: [
        {
          name: 'onnx::MatMul_7',
          dims: [2, 3],
          dataType: onnx.TensorProto.DataType.FLOAT16,
          rawData: new Uint8Array(halves.buffer),
        },
      ],
    },
  }).finish();
}

const target = (graph: GraphWeights) => graph.find({ style: 'diffusers', path: 'attn2.to_q' }) as WeightTarget;

describe('GraphWeights on an fp16 export', () => {
  it('reads float16 weights widened to float32 and writes merged ones back as float16', () => {
    const weights = Float32Array.of(0.5, -1.25, 3, 0.1, 2, -0.75);
    const graph = GraphWeights.decode(fp16Linear(weights), 'fp16 graph');
    expect([...graph.read(target(graph).initializer)]).toEqual([...fromFloat16(toFloat16(weights))]);

    const merged = Float32Array.of(0.5 + 2 ** -12, -1.25, 3.001, 0.1, 2, -0.75);
    graph.write(target(graph).initializer, merged);
    const reread = GraphWeights.decode(graph.encode(), 'merged fp16 graph');
    const initializer = target(reread).initializer;
    expect(initializer.dataType).toBe(onnx.TensorProto.DataType.FLOAT16);
    expect(initializer.rawData?.length).toBe(6 * 2);
    expect([...reread.read(initializer)]).toEqual([...fromFloat16(toFloat16(merged))]);
  });
});
