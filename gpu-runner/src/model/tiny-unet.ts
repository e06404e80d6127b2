import { GraphBuilder, float, int, ints } from './onnx-graph-builder.js';

export interface UnetShape {
  channels: number;
  attentionDim: number;
  crossAttentionDim: number;
  textEmbedDim: number;
  timestepFrequencies: number;
  timeEmbedDim: number;
  timeIdFrequencies: number;
  residualScale: number;
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
 * The output is `sample + residualScale * f(...)`. With Euler sampling that identity path
 * behaves like a denoiser that shrinks the starting noise, while the residual branch
 * carries everything prompt-dependent; that keeps 30 steps at SDXL's sigma 14.6 from
 * blowing up with random weights.
 */
export function buildUnet(shape: UnetShape, seed: number): Uint8Array {
  const g = new GraphBuilder('unet', seed);
  const c = shape.channels;
  const sample = g.input('sample', 'float32', [BATCH, LATENT_CHANNELS, 'height', 'width']);
  const timestep = g.input('timestep', 'float32', ['steps']);
  const context = g.input('encoder_hidden_states', 'float32', [BATCH, 'sequence_length', shape.crossAttentionDim]);
  const textEmbeds = g.input('text_embeds', 'float32', [BATCH, shape.textEmbedDim]);
  const timeIds = g.input('time_ids', 'float32', [BATCH, TIME_IDS]);

  let h = g.op(
    'Conv',
    [
      sample,
      g.random('conv_in.weight', [c, LATENT_CHANNELS, 3, 3], 1 / Math.sqrt(LATENT_CHANNELS * 9)),
      g.random('conv_in.bias', [c], 0.05),
    ],
    { pads: ints([1, 1, 1, 1]) },
  );

  // diffusers' Timesteps(flip_sin_to_cos=True): cos first, then sin.
  const timestepRow = g.op('Unsqueeze', [timestep, g.int64s('axes_1', [1], [1])]);
  const timestepArgs = g.op('Mul', [
    timestepRow,
    g.floats('time_freqs', [1, shape.timestepFrequencies / 2], frequencies(shape.timestepFrequencies / 2)),
  ]);
  const timestepSinusoid = g.op('Concat', [g.op('Cos', [timestepArgs]), g.op('Sin', [timestepArgs])], { axis: int(1) });
  const timeEmbedding = mlp(g, timestepSinusoid, shape.timestepFrequencies, shape.timeEmbedDim, 'time_embedding');

  // SDXL's add_time_proj + add_embedding over [sinusoids(time_ids), text_embeds].
  const idArgs = g.op('Mul', [
    g.op('Unsqueeze', [timeIds, g.int64s('axes_2', [1], [2])]),
    g.floats('time_id_freqs', [1, 1, shape.timeIdFrequencies / 2], frequencies(shape.timeIdFrequencies / 2)),
  ]);
  const idSinusoid = g.op('Concat', [g.op('Cos', [idArgs]), g.op('Sin', [idArgs])], { axis: int(2) });
  const idFlat = g.op('Reshape', [idSinusoid, g.int64s('batch_flat', [2], [0, -1])]);
  const addedInput = g.op('Concat', [idFlat, textEmbeds], { axis: int(1) });
  const addedWidth = TIME_IDS * shape.timeIdFrequencies + shape.textEmbedDim;
  const addedEmbedding = mlp(g, addedInput, addedWidth, shape.timeEmbedDim, 'add_embedding');

  const embedding = g.op('Add', [timeEmbedding, addedEmbedding]);
  const perChannel = g.op('Add', [
    g.op('MatMul', [
      silu(g, embedding),
      g.random('time_emb_proj.weight', [shape.timeEmbedDim, c], 1 / Math.sqrt(shape.timeEmbedDim)),
    ]),
    g.random('time_emb_proj.bias', [c], 0.05),
  ]);
  h = silu(g, g.op('Add', [h, g.op('Unsqueeze', [perChannel, g.int64s('axes_23', [2], [2, 3])])]));

  // Cross-attention over the prompt tokens, on pixels flattened to a sequence.
  const d = shape.attentionDim;
  const spatialShape = g.op('Shape', [h]);
  const pixels = g.op('Transpose', [g.op('Reshape', [h, g.int64s('flatten_hw', [3], [0, c, -1])])], { perm: ints([0, 2, 1]) });
  const normed = g.op(
    'LayerNormalization',
    [pixels, g.floats('attn_norm.weight', [c], new Float32Array(c).fill(1)), g.random('attn_norm.bias', [c], 0.05)],
    { axis: int(-1), epsilon: float(1e-5) },
  );
  const q = g.op('MatMul', [normed, g.random('attn.to_q', [c, d], 1 / Math.sqrt(c))]);
  const k = g.op('MatMul', [
    context,
    g.random('attn.to_k', [shape.crossAttentionDim, d], 1 / Math.sqrt(shape.crossAttentionDim)),
  ]);
  const v = g.op('MatMul', [
    context,
    g.random('attn.to_v', [shape.crossAttentionDim, d], 1 / Math.sqrt(shape.crossAttentionDim)),
  ]);
  const scores = g.op('Mul', [
    g.op('MatMul', [q, g.op('Transpose', [k], { perm: ints([0, 2, 1]) })]),
    g.floats('attn.scale', [], [2 / Math.sqrt(d)]),
  ]);
  const attended = g.op('MatMul', [g.op('Softmax', [scores], { axis: int(-1) }), v]);
  const projected = g.op('MatMul', [attended, g.random('attn.to_out', [d, c], 2 / Math.sqrt(d))]);
  const mixed = g.op('Transpose', [g.op('Add', [pixels, projected])], { perm: ints([0, 2, 1]) });
  h = g.op('Reshape', [mixed, spatialShape]);

  const residual = g.op(
    'Conv',
    [
      silu(g, h),
      g.random('conv_out.weight', [LATENT_CHANNELS, c, 3, 3], 1 / Math.sqrt(c * 9)),
      g.random('conv_out.bias', [LATENT_CHANNELS], 0.05),
    ],
    { pads: ints([1, 1, 1, 1]) },
  );
  const scaled = g.op('Mul', [residual, g.floats('residual_scale', [], [shape.residualScale])]);
  g.op('Add', [sample, scaled], {}, 'out_sample');
  g.output('out_sample', 'float32', [BATCH, LATENT_CHANNELS, 'height', 'width']);
  return g.toBytes();
}

/** diffusers' `get_timestep_embedding` frequencies: exp(-ln(10000) * i / half). */
function frequencies(half: number): Float32Array {
  return Float32Array.from({ length: half }, (_, i) => Math.exp((-Math.log(10000) * i) / half));
}

function silu(g: GraphBuilder, x: string): string {
  return g.op('Mul', [x, g.op('Sigmoid', [x])]);
}

/** Linear → SiLU → Linear, as diffusers' TimestepEmbedding. */
function mlp(g: GraphBuilder, x: string, inWidth: number, outWidth: number, prefix: string): string {
  const first = g.op('Add', [
    g.op('MatMul', [x, g.random(`${prefix}.linear_1.weight`, [inWidth, outWidth], 1 / Math.sqrt(inWidth))]),
    g.random(`${prefix}.linear_1.bias`, [outWidth], 0.05),
  ]);
  return g.op('Add', [
    g.op('MatMul', [silu(g, first), g.random(`${prefix}.linear_2.weight`, [outWidth, outWidth], 1 / Math.sqrt(outWidth))]),
    g.random(`${prefix}.linear_2.bias`, [outWidth], 0.05),
  ]);
}
