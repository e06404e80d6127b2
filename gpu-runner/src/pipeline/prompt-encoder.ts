import { PipelineError } from '../errors/pipeline-error.js';
import type { OnnxSession } from '../onnx/onnx-session.js';
import type { TensorData } from '../onnx/tensor-data.js';
import type { ClipTokenizer } from '../tokenizer/clip-tokenizer.js';
import { concatLastAxis } from './tensor-ops.js';

/** A batch of prompts as SDXL's UNet consumes them. */
export interface EncodedPrompts {
  batch: number;
  sequenceLength: number;
  /** [batch, sequence, width]: both encoders' penultimate hidden states, side by side. */
  hiddenStates: Float32Array;
  width: number;
  /** [batch, projection]: text_encoder_2's projected pooled output. */
  textEmbeds: Float32Array;
  projection: number;
}

interface EncoderUse {
  tokenizer: ClipTokenizer;
  session: OnnxSession;
  /** `hidden_states.{N-1}`, N being the encoder's layer count. */
  penultimate: string;
}

/**
 * SDXL's `encode_prompt` (diffusers): each prompt goes through both tokenizers and text
 * encoders; the penultimate hidden state of each encoder is kept (clip_skip unset) and the
 * two are concatenated on the feature axis; the pooled embedding is text_encoder_2's
 * `text_embeds`.
 */
export class PromptEncoder {
  private readonly first: EncoderUse;
  private readonly second: EncoderUse;

  constructor(tokenizers: [ClipTokenizer, ClipTokenizer], encoders: [OnnxSession, OnnxSession]) {
    this.first = { tokenizer: tokenizers[0], session: encoders[0], penultimate: penultimateOutput(encoders[0]) };
    this.second = { tokenizer: tokenizers[1], session: encoders[1], penultimate: penultimateOutput(encoders[1]) };
    if (!encoders[1].outputNames.includes('text_embeds')) {
      throw new PipelineError(
        'model_invalid',
        'text_encoder_2 has no "text_embeds" output (expected CLIPTextModelWithProjection)',
      );
    }
  }

  async encode(prompts: readonly string[]): Promise<EncodedPrompts> {
    const first = await this.run(this.first, prompts, [this.first.penultimate]);
    const second = await this.run(this.second, prompts, [this.second.penultimate, 'text_embeds']);
    const h1 = floatOutput(first, this.first.penultimate);
    const h2 = floatOutput(second, this.second.penultimate);
    const pooled = floatOutput(second, 'text_embeds');
    const [batch, sequenceLength, width1] = h1.dims as [number, number, number];
    const width2 = h2.dims[2]!;
    if (h2.dims[0] !== batch || h2.dims[1] !== sequenceLength) {
      throw new PipelineError(
        'model_invalid',
        `text encoders disagree on shape: [${h1.dims.join(',')}] vs [${h2.dims.join(',')}]`,
      );
    }
    return {
      batch,
      sequenceLength,
      hiddenStates: concatLastAxis(h1.data, width1, h2.data, width2),
      width: width1 + width2,
      textEmbeds: pooled.data,
      projection: pooled.dims[1]!,
    };
  }

  private async run(use: EncoderUse, prompts: readonly string[], outputs: string[]): Promise<Record<string, TensorData>> {
    const length = use.tokenizer.maxLength;
    const ids = new Int32Array(prompts.length * length);
    prompts.forEach((prompt, i) => ids.set(use.tokenizer.encode(prompt), i * length));
    const dims = [prompts.length, length];
    // Optimum exports CLIP with int32 ids; older or hand-made exports use int64.
    const spec = use.session.inputs.find((input) => input.name === 'input_ids');
    const feed: TensorData =
      spec?.isTensor && spec.type === 'int64'
        ? { type: 'int64', data: BigInt64Array.from(ids, (id) => BigInt(id)), dims }
        : { type: 'int32', data: ids, dims };
    return use.session.run({ input_ids: feed }, outputs);
  }
}

/** Zero embeddings shaped like `like`, for an empty negative prompt under force_zeros_for_empty_prompt. */
export function zeroPrompts(like: EncodedPrompts): EncodedPrompts {
  return {
    ...like,
    hiddenStates: new Float32Array(like.hiddenStates.length),
    textEmbeds: new Float32Array(like.textEmbeds.length),
  };
}

/** Stacks two single-prompt encodings into one batch of two ([uncond, cond] for guidance). */
export function stackPrompts(a: EncodedPrompts, b: EncodedPrompts): EncodedPrompts {
  const join = (x: Float32Array, y: Float32Array) => {
    const out = new Float32Array(x.length + y.length);
    out.set(x);
    out.set(y, x.length);
    return out;
  };
  return {
    ...a,
    batch: a.batch + b.batch,
    hiddenStates: join(a.hiddenStates, b.hiddenStates),
    textEmbeds: join(a.textEmbeds, b.textEmbeds),
  };
}

function penultimateOutput(session: OnnxSession): string {
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
  return `hidden_states.${Math.max(...layers) - 1}`;
}

function floatOutput(outputs: Record<string, TensorData>, name: string): { data: Float32Array; dims: readonly number[] } {
  const tensor = outputs[name];
  if (!tensor || tensor.type !== 'float32')
    throw new PipelineError('model_invalid', `output "${name}" is missing or not float32`);
  return tensor;
}
