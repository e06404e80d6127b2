import { GraphBuilder, int, ints, str } from './onnx-graph-builder.js';

export interface UpscalerShape {
  /** Feature channels of the body (Real-ESRGAN's compact SRVGGNet: 64). */
  features: number;
  /** Weight of the learned detail against the interpolated image. */
  residualScale: number;
}

const SCALE = 2;

/**
 * A 2x super-resolution graph shaped like Real-ESRGAN's compact exports (SRVGGNetCompact):
 * `input` [b,3,H,W] RGB in [0, 1] → `output` [b,3,2H,2W] in [0, 1]. A conv body ending in
 * 3·4 channels, rearranged by a pixel shuffle (DepthToSpace), is added to the input's
 * 2x upsampling, then clipped: with random weights it is a slightly textured bilinear
 * enlargement, which is all CI needs.
 */
export function buildUpscaler(shape: UpscalerShape, seed: number): Uint8Array {
  const g = new GraphBuilder('upscaler', seed);
  const input = g.input('input', 'float32', ['batch_size', 3, 'height', 'width']);
  const { features } = shape;
  let h = prelu(g, conv(g, input, 3, features, 'body.0', 1.4), 'body.1');
  h = prelu(g, conv(g, h, features, features, 'body.2', 1.4), 'body.3');
  h = conv(g, h, features, 3 * SCALE * SCALE, 'body.4', shape.residualScale);
  const detail = g.op('DepthToSpace', [h], { blocksize: int(SCALE), mode: str('CRD') });
  const scales = g.floats('upsample_scales', [4], [1, 1, SCALE, SCALE]);
  const base = g.op('Resize', [input, '', scales], { mode: str('linear'), coordinate_transformation_mode: str('half_pixel') });
  const zero = g.floats('clip_min', [], [0]);
  const one = g.floats('clip_max', [], [1]);
  g.op('Clip', [g.op('Add', [base, detail]), zero, one], {}, 'output');
  g.output('output', 'float32', ['batch_size', 3, 'height * 2', 'width * 2']);
  return g.toBytes();
}

function conv(g: GraphBuilder, x: string, from: number, to: number, name: string, gain: number): string {
  const weight = g.random(`${name}.weight`, [to, from, 3, 3], gain / Math.sqrt(from * 9));
  return g.op('Conv', [x, weight, g.random(`${name}.bias`, [to], 0.01)], { pads: ints([1, 1, 1, 1]), group: int(1) });
}

function prelu(g: GraphBuilder, x: string, name: string): string {
  return g.op('PRelu', [x, g.floats(`${name}.weight`, [1, 1, 1], [0.25])]);
}
