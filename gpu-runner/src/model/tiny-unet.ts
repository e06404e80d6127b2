import { GraphBuilder, float, int, ints, type ModuleScope } from './onnx-graph-builder.js';

export interface UnetShape {
  channels: number;
  attentionDim: number;
  crossAttentionDim: number;
  textEmbedDim: number;
  timestepFrequencies: number;
  timeEmbedDim: number;
  timeIdFrequencies: number;
  residualScale: number;
  /** 4, or 9 for an inpainting UNet: latents, mask and masked-image latents stacked on channels. */
  inChannels?: number;
}

const BATCH = 'batch_size';
const LATENT_CHANNELS = 4;
const TIME_IDS = 6;

/**
 * An SDXL-UNet-shaped noise predictor with the real graph's inputs and output:
 * conv in → + per-channel embedding of (sinusoidal timestep, SDXL's "text_time" added
 * condition: sinusoids of the six time ids next to the pooled text embedding) → one
 * cross-attention block whose queries come from pixels and keys/values from the prompt
 * tokens → conv out.
 *
 * The output is `sample + residualScale * f(...)` (the sample's first four channels for an
 * inpainting UNet, whose conv_in also sees the mask and the masked image). With Euler sampling that identity path
 * behaves like a denoiser that shrinks the starting noise, while the residual branch
 * carries everything prompt-dependent; that keeps 30 steps at SDXL's sigma 14.6 from
 * blowing up with random weights.
 */
export function buildUnet(shape: UnetShape, seed: number): Uint8Array {
  const g = new GraphBuilder('unet', seed);
  const c = shape.channels;
  const inChannels = shape.inChannels ?? LATENT_CHANNELS;
  const sample = g.input('sample', 'float32', [BATCH, inChannels, 'height', 'width']);
  const timestep = g.input('timestep', 'float32', ['steps']);
  const context = g.input('encoder_hidden_states', 'float32', [BATCH, 'sequence_length', shape.crossAttentionDim]);
  const textEmbeds = g.input('text_embeds', 'float32', [BATCH, shape.textEmbedDim]);
  const timeIds = g.input('time_ids', 'float32', [BATCH, TIME_IDS]);

  const convIn = g.scope('conv_in');
  let h = convIn.op(
    'Conv',
    [
      sample,
      g.random('conv_in.weight', [c, inChannels, 3, 3], 1 / Math.sqrt(inChannels * 9)),
      g.random('conv_in.bias', [c], 0.05),
    ],
    { pads: ints([1, 1, 1, 1]) },
  );

  // diffusers' Timesteps(flip_sin_to_cos=True): cos first, then sin.
  const timeProj = g.scope('time_proj');
  const timestepRow = timeProj.op('Unsqueeze', [timestep, g.int64s('axes_1', [1], [1])]);
  const timestepArgs = timeProj.op('Mul', [
    timestepRow,
    g.floats('time_freqs', [1, shape.timestepFrequencies / 2], frequencies(shape.timestepFrequencies / 2)),
  ]);
  const timestepSinusoid = timeProj.op('Concat', [timeProj.op('Cos', [timestepArgs]), timeProj.op('Sin', [timestepArgs])], {
    axis: int(1),
  });
  const timeEmbedding = mlp(g.scope('time_embedding'), timestepSinusoid, shape.timestepFrequencies, shape.timeEmbedDim);

  // SDXL's add_time_proj + add_embedding over [sinusoids(time_ids), text_embeds].
  const addTimeProj = g.scope('add_time_proj');
  const idArgs = addTimeProj.op('Mul', [
    addTimeProj.op('Unsqueeze', [timeIds, g.int64s('axes_2', [1], [2])]),
    g.floats('time_id_freqs', [1, 1, shape.timeIdFrequencies / 2], frequencies(shape.timeIdFrequencies / 2)),
  ]);
  const idSinusoid = addTimeProj.op('Concat', [addTimeProj.op('Cos', [idArgs]), addTimeProj.op('Sin', [idArgs])], {
    axis: int(2),
  });
  const idFlat = addTimeProj.op('Reshape', [idSinusoid, g.int64s('batch_flat', [2], [0, -1])]);
  const addedInput = g.op('Concat', [idFlat, textEmbeds], { axis: int(1) });
  const addedWidth = TIME_IDS * shape.timeIdFrequencies + shape.textEmbedDim;
  const addedEmbedding = mlp(g.scope('add_embedding'), addedInput, addedWidth, shape.timeEmbedDim);

  const embedding = g.op('Add', [timeEmbedding, addedEmbedding]);
  const resnet = g.scope('down_blocks.0.resnets.0');
  const perChannel = resnet
    .child('time_emb_proj')
    .linear(silu(resnet, embedding), shape.timeEmbedDim, c, 1 / Math.sqrt(shape.timeEmbedDim), { std: 0.05 });
  h = silu(resnet, resnet.op('Add', [h, resnet.op('Unsqueeze', [perChannel, g.int64s('axes_23', [2], [2, 3])])]));

  // Cross-attention over the prompt tokens, on pixels flattened to a sequence: SDXL's
  // transformer blocks start in down_blocks.1, and attn2 is the cross-attention.
  const d = shape.attentionDim;
  const block = g.scope('down_blocks.1.attentions.0.transformer_blocks.0');
  const attn = block.child('attn2');
  const spatialShape = block.op('Shape', [h]);
  const pixels = block.op('Transpose', [block.op('Reshape', [h, g.int64s('flatten_hw', [3], [0, c, -1])])], {
    perm: ints([0, 2, 1]),
  });
  const norm = block.child('norm2');
  const normed = norm.op(
    'LayerNormalization',
    [
      pixels,
      g.floats(`${norm.modulePath}.weight`, [c], new Float32Array(c).fill(1)),
      g.random(`${norm.modulePath}.bias`, [c], 0.05),
    ],
    { axis: int(-1), epsilon: float(1e-5) },
  );
  const q = attn.child('to_q').linear(normed, c, d, 1 / Math.sqrt(c));
  const k = attn.child('to_k').linear(context, shape.crossAttentionDim, d, 1 / Math.sqrt(shape.crossAttentionDim));
  const v = attn.child('to_v').linear(context, shape.crossAttentionDim, d, 1 / Math.sqrt(shape.crossAttentionDim));
  const scores = attn.op('Mul', [
    attn.op('MatMul', [q, attn.op('Transpose', [k], { perm: ints([0, 2, 1]) })]),
    g.floats('attn.scale', [], [2 / Math.sqrt(d)]),
  ]);
  const attended = attn.op('MatMul', [attn.op('Softmax', [scores], { axis: int(-1) }), v]);
  const projected = attn.child('to_out.0').linear(attended, d, c, 2 / Math.sqrt(d));
  const mixed = block.op('Transpose', [block.op('Add', [pixels, projected])], { perm: ints([0, 2, 1]) });
  h = block.op('Reshape', [mixed, spatialShape]);

  const convOut = g.scope('conv_out');
  const residual = convOut.op(
    'Conv',
    [
      silu(g.scope('conv_act'), h),
      g.random('conv_out.weight', [LATENT_CHANNELS, c, 3, 3], 1 / Math.sqrt(c * 9)),
      g.random('conv_out.bias', [LATENT_CHANNELS], 0.05),
    ],
    { pads: ints([1, 1, 1, 1]) },
  );
  const scaled = g.op('Mul', [residual, g.floats('residual_scale', [], [shape.residualScale])]);
  // The identity path takes the latents: an inpainting UNet's first four input channels.
  const latents =
    inChannels === LATENT_CHANNELS
      ? sample
      : g.op('Slice', [
          sample,
          g.int64s('latent_start', [1], [0]),
          g.int64s('latent_end', [1], [LATENT_CHANNELS]),
          g.int64s('channel_axis', [1], [1]),
        ]);
  g.op('Add', [latents, scaled], {}, 'out_sample');
  g.output('out_sample', 'float32', [BATCH, LATENT_CHANNELS, 'height', 'width']);
  return g.toBytes();
}

/** diffusers' `get_timestep_embedding` frequencies: exp(-ln(10000) * i / half). */
function frequencies(half: number): Float32Array {
  return Float32Array.from({ length: half }, (_, i) => Math.exp((-Math.log(10000) * i) / half));
}

function silu(scope: ModuleScope, x: string): string {
  return scope.op('Mul', [x, scope.op('Sigmoid', [x])]);
}

/** Linear → SiLU → Linear, as diffusers' TimestepEmbedding. */
function mlp(scope: ModuleScope, x: string, inWidth: number, outWidth: number): string {
  const first = scope.child('linear_1').linear(x, inWidth, outWidth, 1 / Math.sqrt(inWidth), { std: 0.05 });
  return scope.child('linear_2').linear(silu(scope.child('act'), first), outWidth, outWidth, 1 / Math.sqrt(outWidth), {
    std: 0.05,
  });
}
