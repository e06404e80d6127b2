import { GraphBuilder, float, int, ints, type ModuleScope } from './onnx-graph-builder.js';

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

  const embeddings = g.scope('text_model.embeddings');
  const tokens = embeddings.op('Gather', [
    g.random('text_model.embeddings.token_embedding.weight', [shape.vocabSize, h], 0.5),
    inputIds,
  ]);
  const sequence = embeddings.op('Gather', [embeddings.op('Shape', [inputIds]), g.int64s('one', [], [1])], { axis: int(0) });
  const positions = embeddings.op('Range', [g.int64s('zero', [], [0]), sequence, 'one']);
  const positionTable = g.random('text_model.embeddings.position_embedding.weight', [shape.maxPositions, h], 0.2);
  let x = embeddings.op('Add', [tokens, embeddings.op('Gather', [positionTable, positions])], {}, 'hidden_states.0');

  // A [s, s] matrix of -1e4 above the diagonal: each token attends to itself and earlier ones.
  const model = g.scope('text_model');
  const square = model.op(
    'Concat',
    [model.op('Unsqueeze', [sequence, g.int64s('axis0', [1], [0])]), model.op('Unsqueeze', [sequence, 'axis0'])],
    { axis: int(0) },
  );
  const ones = model.op('Expand', [g.floats('one_f', [], [1]), square]);
  const causalMask = model.op('Mul', [
    model.op('Trilu', [ones, g.int64s('above_diagonal', [], [1])], { upper: int(1) }),
    g.floats('minus_big', [], [-1e4]),
  ]);
  const invSqrtH = g.floats('inv_sqrt_hidden', [], [1 / Math.sqrt(h)]);

  for (let layer = 1; layer <= shape.layers; layer++) {
    const block = g.scope(`text_model.encoder.layers.${layer - 1}`);
    const attn = block.child('self_attn');
    const n1 = layerNorm(g, x, h, block.child('layer_norm1'));
    const q = attn.child('q_proj').linear(n1, h, h, 1 / Math.sqrt(h));
    const k = attn.child('k_proj').linear(n1, h, h, 1 / Math.sqrt(h));
    const v = attn.child('v_proj').linear(n1, h, h, 1 / Math.sqrt(h));
    const scores = attn.op('Add', [
      attn.op('Mul', [attn.op('MatMul', [q, attn.op('Transpose', [k], { perm: ints([0, 2, 1]) })]), invSqrtH]),
      causalMask,
    ]);
    const attended = attn.op('MatMul', [attn.op('Softmax', [scores], { axis: int(-1) }), v]);
    x = block.op('Add', [x, attn.child('out_proj').linear(attended, h, h, 0.5 / Math.sqrt(h))]);

    const n2 = layerNorm(g, x, h, block.child('layer_norm2'));
    const mlp = block.child('mlp');
    const up = mlp.child('fc1').linear(n2, h, 2 * h, 1 / Math.sqrt(h), { std: 0.1 });
    // CLIP's quick_gelu: x * sigmoid(1.702 x).
    const gelu = mlp.child('activation_fn');
    const act = gelu.op('Mul', [up, gelu.op('Sigmoid', [gelu.op('Mul', [up, g.floats(`${gelu.modulePath}.k`, [], [1.702])])])]);
    const down = mlp.child('fc2').linear(act, 2 * h, h, 0.5 / Math.sqrt(2 * h), { std: 0.1 });
    x = block.op('Add', [x, down], {}, `hidden_states.${layer}`);
  }

  const last = layerNorm(g, x, h, g.scope('text_model.final_layer_norm'), 'last_hidden_state');
  // Like HF's CLIP: pool at argmax(input_ids), the first EOS since EOS has the largest id.
  const eosIndex = model.op('ArgMax', [inputIds], { axis: int(-1), keepdims: int(1) });
  const pooledName = shape.projection ? 'pooled' : 'pooler_output';
  const pooled = model.op('GatherND', [last, eosIndex], { batch_dims: int(1) }, pooledName);

  if (shape.projection) {
    g.scope('text_projection').linear(pooled, h, shape.projection, 1 / Math.sqrt(h), undefined, 'text_embeds');
    g.output('text_embeds', 'float32', [BATCH, shape.projection]);
    g.output('last_hidden_state', 'float32', [BATCH, SEQUENCE, h]);
  } else {
    g.output('last_hidden_state', 'float32', [BATCH, SEQUENCE, h]);
    g.output('pooler_output', 'float32', [BATCH, h]);
  }
  for (let i = 0; i <= shape.layers; i++) g.output(`hidden_states.${i}`, 'float32', [BATCH, SEQUENCE, h]);
  return g.toBytes();
}

function layerNorm(g: GraphBuilder, x: string, width: number, scope: ModuleScope, output?: string): string {
  const scale = g.floats(`${scope.modulePath}.weight`, [width], new Float32Array(width).fill(1));
  const bias = g.random(`${scope.modulePath}.bias`, [width], 0.05);
  return scope.op('LayerNormalization', [x, scale, bias], { axis: int(-1), epsilon: float(1e-5) }, output);
}
