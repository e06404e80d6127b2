import { PipelineError } from '../errors/pipeline-error.js';
import type { OnnxSession } from '../onnx/onnx-session.js';
import type { TensorData } from '../onnx/tensor-data.js';
import type { ClipTokenizer, WeightedWindow } from '../tokenizer/clip-tokenizer.js';
import { applyEmphasis } from './emphasis-embeddings.js';
import { parseEmphasis } from './prompt-emphasis.js';
import { concatLastAxis } from './tensor-ops.js';

/** A batch of prompts as SDXL's UNet consumes them. */
export interface EncodedPrompts {
  batch: number;
  /** 77 per window: a prompt longer than 75 tokens spans several windows. */
  sequenceLength: number;
  /** [batch, sequence, width]: both encoders' selected hidden states, side by side. */
  hiddenStates: Float32Array;
  width: number;
  /** [batch, projection]: text_encoder_2's projected pooled output (of the first window). */
  textEmbeds: Float32Array;
  projection: number;
}

/** One prompt as SDXL encodes it: `text` for the first encoder, `text2` for the second. */
export interface PromptText {
  text: string;
  text2: string;
}

interface EncoderUse {
  tokenizer: ClipTokenizer;
  session: OnnxSession;
  /** N in `hidden_states.0` … `hidden_states.N`: the encoder's layer count. */
  layers: number;
}

/**
 * SDXL's `encode_prompt` (diffusers), with Fooocus's long prompts: each prompt is cut into
 * 77-token windows by each tokenizer (one window, exactly diffusers' input, when it fits),
 * all windows go through the encoder in one batch, and a prompt's windows are concatenated
 * along the sequence. Each encoder contributes `hidden_states.{N-1-clipSkip}` (the
 * penultimate layer by default), the two side by side; the pooled embedding is
 * text_encoder_2's `text_embeds` of the first window, as Fooocus pools.
 *
 * Emphasis (`(words:1.3)`, `(words)`, `[words]`; prompt-emphasis.ts) is applied to each
 * encoder's hidden states as Fooocus does (emphasis-embeddings.ts), against one extra
 * window holding the empty prompt that joins the batch only when some prompt has emphasis.
 * A prompt without emphasis syntax is tokenized and encoded exactly as without this step.
 */
export class PromptEncoder {
  private readonly first: EncoderUse;
  private readonly second: EncoderUse;

  constructor(tokenizers: [ClipTokenizer, ClipTokenizer], encoders: [OnnxSession, OnnxSession]) {
    this.first = { tokenizer: tokenizers[0], session: encoders[0], layers: layerCount(encoders[0]) };
    this.second = { tokenizer: tokenizers[1], session: encoders[1], layers: layerCount(encoders[1]) };
    if (!encoders[1].outputNames.includes('text_embeds')) {
      throw new PipelineError(
        'model_invalid',
        'text_encoder_2 has no "text_embeds" output (expected CLIPTextModelWithProjection)',
      );
    }
  }

  /** The largest `clipSkip` both encoders allow (the first has fewer layers). */
  get maxClipSkip(): number {
    return Math.min(this.first.layers, this.second.layers) - 1;
  }

  /** One batch-of-one encoding per prompt, in order. */
  async encode(prompts: readonly PromptText[], clipSkip = 0): Promise<EncodedPrompts[]> {
    if (!Number.isInteger(clipSkip) || clipSkip < 0 || clipSkip > this.maxClipSkip) {
      throw new PipelineError('invalid_params', `clipSkip must be an integer from 0 to ${this.maxClipSkip}, got ${clipSkip}`);
    }
    // Windows per prompt and encoder; a prompt gets as many windows from both encoders, the
    // shorter side padded with empty windows (BOS, EOS, padding) so the two line up.
    const windows = prompts.map(({ text, text2 }) => {
      const a = weightedWindows(this.first.tokenizer, text);
      const b = weightedWindows(this.second.tokenizer, text2);
      const count = Math.max(a.length, b.length);
      return [pad(a, count, this.first.tokenizer), pad(b, count, this.second.tokenizer)] as const;
    });
    const emphasized = windows.some(([a, b]) => [...a, ...b].some((window) => window.weights.some((w) => w !== 1)));
    // The empty prompt's window goes last, so the prompts' rows keep their indices.
    const extra = (tokenizer: ClipTokenizer) => (emphasized ? [tokenizer.encode('')] : []);
    const hidden1 = `hidden_states.${this.first.layers - 1 - clipSkip}`;
    const hidden2 = `hidden_states.${this.second.layers - 1 - clipSkip}`;
    const first = await this.run(
      this.first,
      [...windows.flatMap(([a]) => a.map((window) => window.ids)), ...extra(this.first.tokenizer)],
      [hidden1],
    );
    const second = await this.run(
      this.second,
      [...windows.flatMap(([, b]) => b.map((window) => window.ids)), ...extra(this.second.tokenizer)],
      [hidden2, 'text_embeds'],
    );
    const h1 = floatOutput(first, hidden1);
    const h2 = floatOutput(second, hidden2);
    const pooled = floatOutput(second, 'text_embeds');
    const [, tokens, width1] = h1.dims as [number, number, number];
    const width2 = h2.dims[2]!;
    const projection = pooled.dims[1]!;
    if (h2.dims[0] !== h1.dims[0] || h2.dims[1] !== tokens) {
      throw new PipelineError(
        'model_invalid',
        `text encoders disagree on shape: [${h1.dims.join(',')}] vs [${h2.dims.join(',')}]`,
      );
    }
    if (emphasized) {
      const total = windows.reduce((n, [a]) => n + a.length, 0);
      const emptyRows = (data: Float32Array, width: number) => data.subarray(total * tokens * width);
      const [empty1, empty2] = [emptyRows(h1.data, width1), emptyRows(h2.data, width2)];
      let index = 0;
      for (const [a, b] of windows) {
        for (let k = 0; k < a.length; k++, index++) {
          applyEmphasis(h1.data.subarray(index * tokens * width1, (index + 1) * tokens * width1), empty1, a[k]!.weights, width1);
          applyEmphasis(h2.data.subarray(index * tokens * width2, (index + 1) * tokens * width2), empty2, b[k]!.weights, width2);
        }
      }
    }
    const out: EncodedPrompts[] = [];
    let window = 0;
    for (const [a] of windows) {
      const count = a.length;
      const rows = (data: Float32Array, width: number) =>
        data.subarray(window * tokens * width, (window + count) * tokens * width);
      out.push({
        batch: 1,
        sequenceLength: count * tokens,
        hiddenStates: concatLastAxis(rows(h1.data, width1), width1, rows(h2.data, width2), width2),
        width: width1 + width2,
        textEmbeds: pooled.data.slice(window * projection, (window + 1) * projection),
        projection,
      });
      window += count;
    }
    return out;
  }

  private async run(use: EncoderUse, windows: readonly Int32Array[], outputs: string[]): Promise<Record<string, TensorData>> {
    const length = use.tokenizer.maxLength;
    const ids = new Int32Array(windows.length * length);
    windows.forEach((window, i) => ids.set(window, i * length));
    const dims = [windows.length, length];
    // Optimum exports CLIP with int64 ids; some hand-made exports use int32.
    const spec = use.session.inputs.find((input) => input.name === 'input_ids');
    const feed: TensorData =
      spec?.isTensor && spec.type === 'int32'
        ? { type: 'int32', data: ids, dims }
        : { type: 'int64', data: BigInt64Array.from(ids, (id) => BigInt(id)), dims };
    return use.session.run({ input_ids: feed }, outputs);
  }
}

/** Zero embeddings shaped like `like`, for a missing negative prompt under force_zeros_for_empty_prompt. */
export function zeroPrompts(like: EncodedPrompts): EncodedPrompts {
  return {
    ...like,
    hiddenStates: new Float32Array(like.hiddenStates.length),
    textEmbeds: new Float32Array(like.textEmbeds.length),
  };
}

/**
 * `a` and `b` as one batch when their sequences can be made equal: equal already, or each
 * repeated to the least common multiple of the two, at most 4× (Fooocus's rule: tiling a
 * prompt's tokens leaves cross-attention unchanged, since every key keeps its share of the
 * softmax). Undefined when they cannot, and the UNet must see them one at a time.
 */
export function stackPrompts(a: EncodedPrompts, b: EncodedPrompts): EncodedPrompts | undefined {
  const target = lcm(a.sequenceLength, b.sequenceLength);
  if (target / Math.min(a.sequenceLength, b.sequenceLength) > 4) return undefined;
  const [x, y] = [tile(a, target / a.sequenceLength), tile(b, target / b.sequenceLength)];
  const join = (p: Float32Array, q: Float32Array) => {
    const out = new Float32Array(p.length + q.length);
    out.set(p);
    out.set(q, p.length);
    return out;
  };
  return {
    ...x,
    batch: x.batch + y.batch,
    hiddenStates: join(x.hiddenStates, y.hiddenStates),
    textEmbeds: join(x.textEmbeds, y.textEmbeds),
  };
}

function tile(prompts: EncodedPrompts, times: number): EncodedPrompts {
  if (times === 1) return prompts;
  const item = prompts.sequenceLength * prompts.width;
  const out = new Float32Array(prompts.hiddenStates.length * times);
  for (let b = 0; b < prompts.batch; b++) {
    const source = prompts.hiddenStates.subarray(b * item, (b + 1) * item);
    for (let k = 0; k < times; k++) out.set(source, (b * times + k) * item);
  }
  return { ...prompts, sequenceLength: prompts.sequenceLength * times, hiddenStates: out };
}

function lcm(a: number, b: number): number {
  let [x, y] = [a, b];
  while (y !== 0) [x, y] = [y, x % y];
  return (a / x) * b;
}

/**
 * The prompt's windows with each token's emphasis. A prompt without emphasis syntax is one
 * piece, its text unchanged, so it tokenizes exactly as diffusers does.
 */
function weightedWindows(tokenizer: ClipTokenizer, text: string): WeightedWindow[] {
  return tokenizer.encodeWeightedChunks(parseEmphasis(text));
}

function pad(windows: WeightedWindow[], count: number, tokenizer: ClipTokenizer): WeightedWindow[] {
  if (windows.length >= count) return windows;
  const empty = { ids: tokenizer.encode(''), weights: new Float32Array(tokenizer.maxLength).fill(1) };
  return [...windows, ...Array.from({ length: count - windows.length }, () => empty)];
}

function layerCount(session: OnnxSession): number {
  const layers = session.outputNames
    .map((name) => /^hidden_states\.(\d+)$/.exec(name))
    .filter((match): match is RegExpExecArray => match !== null)
    .map((match) => Number(match[1]));
  if (layers.length < 2) {
    throw new PipelineError(
      'model_invalid',
      `${session.label} does not output hidden_states.N (export with output_hidden_states)`,
    );
  }
  return Math.max(...layers);
}

function floatOutput(outputs: Record<string, TensorData>, name: string): { data: Float32Array; dims: readonly number[] } {
  const tensor = outputs[name];
  if (!tensor || tensor.type !== 'float32')
    throw new PipelineError('model_invalid', `output "${name}" is missing or not float32`);
  return tensor;
}
