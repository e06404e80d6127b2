import { GraphBuilder, int, ints, str } from './onnx-graph-builder.js';

export interface VaeDecoderShape {
  /** Channels after the first conv and the first two 2x upsamplings (three in all → 8x). */
  channels: readonly [number, number, number];
  scalingFactor: number;
}

const BATCH = 'batch_size';
const LATENT_CHANNELS = 4;

/**
 * An AutoencoderKL-decoder-shaped graph: `latent_sample` [b,4,h,w] → `sample` [b,3,8h,8w]
 * in [-1, 1]. Three rounds of bilinear 2x upsampling + 3x3 conv + SiLU, then a conv to RGB
 * and Tanh. The first conv is scaled down by the VAE scaling factor because the pipeline
 * feeds latents divided by it (std ≈ 7.7x the sampler's), as with the real VAE.
 */
export function buildVaeDecoder(shape: VaeDecoderShape, seed: number): Uint8Array {
  const g = new GraphBuilder('vae_decoder', seed);
  const latent = g.input('latent_sample', 'float32', [BATCH, LATENT_CHANNELS, 'latent_height', 'latent_width']);
  const [c0, c1, c2] = shape.channels;

  let h = conv(g, latent, LATENT_CHANNELS, c0, 'conv_in', shape.scalingFactor * 1.2);
  h = silu(g, h);
  const scales = g.floats('upsample_scales', [4], [1, 1, 2, 2]);
  const stages: [number, number][] = [
    [c0, c1],
    [c1, c2],
    [c2, c2],
  ];
  stages.forEach(([from, to], i) => {
    const up = g.op('Resize', [h, '', scales], { mode: str('linear'), coordinate_transformation_mode: str('half_pixel') });
    h = silu(g, conv(g, up, from, to, `up_blocks.${i}.conv`, 1.6));
  });
  const rgb = conv(g, h, c2, 3, 'conv_out', 1.4);
  g.op('Tanh', [rgb], {}, 'sample');
  g.output('sample', 'float32', [BATCH, 3, 'latent_height * 8', 'latent_width * 8']);
  return g.toBytes();
}

/** 3x3 "same" conv with He-style init times `gain`. */
function conv(g: GraphBuilder, x: string, from: number, to: number, name: string, gain: number): string {
  const weight = g.random(`${name}.weight`, [to, from, 3, 3], gain / Math.sqrt(from * 9));
  return g.op('Conv', [x, weight, g.random(`${name}.bias`, [to], 0.05)], { pads: ints([1, 1, 1, 1]), group: int(1) });
}

function silu(g: GraphBuilder, x: string): string {
  return g.op('Mul', [x, g.op('Sigmoid', [x])]);
}
