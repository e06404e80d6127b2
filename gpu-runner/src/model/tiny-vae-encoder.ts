import { GraphBuilder, int, ints } from './onnx-graph-builder.js';

export interface VaeEncoderShape {
  /** Channels after each of the three stride-2 convs (8x down in all, as the real VAE). */
  channels: readonly [number, number, number];
  scalingFactor: number;
}

const BATCH = 'batch_size';
const LATENT_CHANNELS = 4;

/**
 * An AutoencoderKL-encoder-shaped graph as current Optimum exports it: `sample`
 * [b,3,H,W] in [-1, 1] → `latent_parameters` [b,8,H/8,W/8], the diagonal Gaussian's mean
 * (channels 0–3) and log-variance (4–7). Three 3x3 stride-2 convs with SiLU, then a 3x3
 * conv to the moments. The mean comes out about 1/scaling_factor times unit scale, like the
 * real VAE's, so the pipeline's `mean · scaling_factor` gives latents of unit spread, the
 * tiny decoder's input range.
 */
export function buildVaeEncoder(shape: VaeEncoderShape, seed: number): Uint8Array {
  const g = new GraphBuilder('vae_encoder', seed);
  const sample = g.input('sample', 'float32', [BATCH, 3, 'height', 'width']);
  const [c0, c1, c2] = shape.channels;
  let h = sample;
  const stages: [number, number][] = [
    [3, c0],
    [c0, c1],
    [c1, c2],
  ];
  stages.forEach(([from, to], i) => {
    h = silu(g, conv(g, h, from, to, `down_blocks.${i}.downsamplers.0.conv`, 1.6, 2));
  });
  const moments = conv(g, h, c2, 2 * LATENT_CHANNELS, 'quant_conv', 1.2 / shape.scalingFactor, 1);
  g.op('Identity', [moments], {}, 'latent_parameters');
  g.output('latent_parameters', 'float32', [BATCH, 2 * LATENT_CHANNELS, 'height / 8', 'width / 8']);
  return g.toBytes();
}

/** 3x3 conv with "same" padding (halving the size at stride 2) and He-style init times `gain`. */
function conv(g: GraphBuilder, x: string, from: number, to: number, name: string, gain: number, stride: number): string {
  const weight = g.random(`${name}.weight`, [to, from, 3, 3], gain / Math.sqrt(from * 9));
  return g.op('Conv', [x, weight, g.random(`${name}.bias`, [to], 0.05)], {
    pads: ints([1, 1, 1, 1]),
    strides: ints([stride, stride]),
    group: int(1),
  });
}

function silu(g: GraphBuilder, x: string): string {
  return g.op('Mul', [x, g.op('Sigmoid', [x])]);
}
