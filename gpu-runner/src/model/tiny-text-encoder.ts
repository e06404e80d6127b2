import { GraphBuilder, float, int, ints } from './onnx-graph-builder.js';

export interface TextEncoderShape {
  vocabSize: number;
  maxPositions: number;
  hidden: number;
  layers: number;
  /** Present for CLIPTextModelWithProjection (text_encoder_2): width of `text_embeds`. */
  projection?: number;
}

const BATCH = 'batch_size';
const SEQUENCE = 'sequence_length';

/**
 * A CLIP-shaped text encoder: token + position embeddings, pre-LayerNorm blocks of causal
 * single-head self-attention and a quick-GELU MLP, final LayerNorm, pooled at the
 * highest-id token (EOS) as Hugging Face's CLIP does. Outputs are named as Optimum names
 * them; `hidden_states.0` is the embedding output and `hidden_states.N` the last block's.
 */
export function buildTextEncoder(shape: TextEncoderShape, seed: number): Uint8Array {
  const g = new GraphBuilder(shape.projection ? 'text_encoder_2' : 'text_encoder', seed);
  const h = shape.hidden;
  const inputIds = g.input('input_ids', 'int32', [BATCH, SEQUENCE]);

  const tokens = g.op('Gather', [g.random('token_embedding', [shape.vocabSize, h], 0.5), inputIds]);
  const sequence = g.op('Gather', [g.op('Shape', [inputIds]), g.int64s('one', [], [1])], { axis: int(0) });
  const positions = g.op('Range', [g.int64s('zero', [], [0]), sequence, 'one']);
  const positionTable = g.random('position_embedding', [shape.maxPositions, h], 0.2);
  let x = g.op('Add', [tokens, g.op('Gather', [positionTable, positions])], {}, 'hidden_states.0');

  // A [s, s] matrix of -1e4 above the diagonal: each token attends to itself and earlier ones.
  const square = g.op(
    'Concat',
    [g.op('Unsqueeze', [sequence, g.int64s('axis0', [1], [0])]), g.op('Unsqueeze', [sequence, 'axis0'])],
    { axis: int(0) },
  );
  const ones = g.op('Expand', [g.floats('one_f', [], [1]), square]);
  const causalMask = g.op('Mul', [
    g.op('Trilu', [ones, g.int64s('above_diagonal', [], [1])], { upper: int(1) }),
    g.floats('minus_big', [], [-1e4]),
  ]);
  const invSqrtH = g.floats('inv_sqrt_hidden', [], [1 / Math.sqrt(h)]);

  for (let layer = 1; layer <= shape.layers; layer++) {
    const p = `layers.${layer - 1}`;
    const n1 = layerNorm(g, x, h, `${p}.ln1`);
    const q = g.op('MatMul', [n1, g.random(`${p}.q`, [h, h], 1 / Math.sqrt(h))]);
    const k = g.op('MatMul', [n1, g.random(`${p}.k`, [h, h], 1 / Math.sqrt(h))]);
    const v = g.op('MatMul', [n1, g.random(`${p}.v`, [h, h], 1 / Math.sqrt(h))]);
    const scores = g.op('Add', [
      g.op('Mul', [g.op('MatMul', [q, g.op('Transpose', [k], { perm: ints([0, 2, 1]) })]), invSqrtH]),
      causalMask,
    ]);
    const attended = g.op('MatMul', [g.op('Softmax', [scores], { axis: int(-1) }), v]);
    x = g.op('Add', [x, g.op('MatMul', [attended, g.random(`${p}.o`, [h, h], 0.5 / Math.sqrt(h))])]);

    const n2 = layerNorm(g, x, h, `${p}.ln2`);
    const up = g.op('Add', [
      g.op('MatMul', [n2, g.random(`${p}.fc1`, [h, 2 * h], 1 / Math.sqrt(h))]),
      g.random(`${p}.fc1.bias`, [2 * h], 0.1),
    ]);
    // CLIP's quick_gelu: x * sigmoid(1.702 x).
    const act = g.op('Mul', [up, g.op('Sigmoid', [g.op('Mul', [up, g.floats(`${p}.gelu_k`, [], [1.702])])])]);
    const down = g.op('Add', [
      g.op('MatMul', [act, g.random(`${p}.fc2`, [2 * h, h], 0.5 / Math.sqrt(2 * h))]),
      g.random(`${p}.fc2.bias`, [h], 0.1),
    ]);
    x = g.op('Add', [x, down], {}, `hidden_states.${layer}`);
  }

  const last = layerNorm(g, x, h, 'final_ln', 'last_hidden_state');
  // Like HF's CLIP: pool at argmax(input_ids), the first EOS since EOS has the largest id.
  const eosIndex = g.op('ArgMax', [inputIds], { axis: int(-1), keepdims: int(1) });
  const pooledName = shape.projection ? 'pooled' : 'pooler_output';
  const pooled = g.op('GatherND', [last, eosIndex], { batch_dims: int(1) }, pooledName);

  if (shape.projection) {
    g.op('MatMul', [pooled, g.random('text_projection', [h, shape.projection], 1 / Math.sqrt(h))], {}, 'text_embeds');
    g.output('text_embeds', 'float32', [BATCH, shape.projection]);
    g.output('last_hidden_state', 'float32', [BATCH, SEQUENCE, h]);
  } else {
    g.output('last_hidden_state', 'float32', [BATCH, SEQUENCE, h]);
    g.output('pooler_output', 'float32', [BATCH, h]);
  }
  for (let i = 0; i <= shape.layers; i++) g.output(`hidden_states.${i}`, 'float32', [BATCH, SEQUENCE, h]);
  return g.toBytes();
}

function layerNorm(g: GraphBuilder, x: string, width: number, prefix: string, output?: string): string {
  const scale = g.floats(`${prefix}.weight`, [width], new Float32Array(width).fill(1));
  const bias = g.random(`${prefix}.bias`, [width], 0.05);
  return g.op('LayerNormalization', [x, scale, bias], { axis: int(-1), epsilon: float(1e-5) }, output);
}
