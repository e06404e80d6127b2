import { GraphBuilder, int, ints } from './onnx-graph-builder.js';

/**
 * A foreground-mask graph shaped like the background-removal exports (RMBG, BiRefNet,
 * U²-Net): `input` [b,3,H,W] RGB in [0, 1] → `output` [b,1,H,W], the probability that a
 * pixel belongs to the foreground. Not learned: it scores how far a pixel's colour is from
 * the near-white of a product photo's backdrop (a 3x3 box blur first, so sensor noise does
 * not speckle the mask), through a steep sigmoid. That is enough to find a product on a
 * studio-white photo, which is what CI feeds it.
 */
export function buildSegmenter(): Uint8Array {
  const g = new GraphBuilder('segmenter', 0);
  const input = g.input('input', 'float32', ['batch_size', 3, 'height', 'width']);
  const box = new Float32Array(3 * 9).fill(1 / 9);
  const blurred = g.op('Conv', [input, g.floats('blur.weight', [3, 1, 3, 3], box)], {
    pads: ints([1, 1, 1, 1]),
    group: int(3),
  });
  const fromWhite = g.op('Sub', [g.floats('backdrop', [1, 3, 1, 1], [1, 1, 1]), blurred]);
  const distance = g.op('ReduceSum', [g.op('Mul', [fromWhite, fromWhite]), g.int64s('channel_axis', [1], [1])], {
    keepdims: int(1),
  });
  // Foreground from about 0.1 of squared distance (a light grey against white), steeply.
  const logits = g.op('Mul', [g.op('Sub', [distance, g.floats('threshold', [], [0.1])]), g.floats('steepness', [], [60])]);
  g.op('Sigmoid', [logits], {}, 'output');
  g.output('output', 'float32', ['batch_size', 1, 'height', 'width']);
  return g.toBytes();
}
