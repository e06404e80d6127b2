import type { ResolvedJobParams } from '@atelier/protocol';
import { repeat } from './tensor-ops.js';
import { stackPrompts, zeroPrompts, type EncodedPrompts, type PromptEncoder } from './prompt-encoder.js';

/** One UNet call's worth of conditioning: `prompts.batch` items with their time ids. */
export interface UnetBatch {
  prompts: EncodedPrompts;
  /** [batch, 6] */
  timeIds: Float32Array;
}

/**
 * What the UNet is conditioned on for a job: one batch [uncond, cond] when guiding (or two
 * batches of one when the two prompts' lengths cannot share a batch), or just [cond].
 * The predictions, concatenated in this order, are what guidance combines.
 */
export interface Conditioning {
  guided: boolean;
  batches: UnetBatch[];
}

/**
 * SDXL's micro-conditioning `time_ids`: original size, crop top-left, target size, each as
 * (height, width) / (top, left) like diffusers' `_get_add_time_ids`. Sizes default to the
 * image's and the crop to (0, 0), which is what diffusers does for text-to-image.
 */
export function sdxlTimeIds(params: ResolvedJobParams): Float32Array {
  const original = params.originalSize ?? { width: params.width, height: params.height };
  const crop = params.cropTopLeft ?? { top: 0, left: 0 };
  const target = params.targetSize ?? { width: params.width, height: params.height };
  return Float32Array.of(original.height, original.width, crop.top, crop.left, target.height, target.width);
}

/**
 * diffusers' StableDiffusionXLPipeline prompt handling: `prompt2` and `negativePrompt2`
 * default to `prompt` and `negativePrompt` (an empty string counts as absent there, as
 * Python's `or` does); the unconditional branch is all zeros when no negative prompt is
 * given at all and the model asks for it (`force_zeros_for_empty_prompt`, SDXL base does),
 * and is the encoded negative prompt — `""` included — otherwise.
 */
export async function buildConditioning(
  encoder: PromptEncoder,
  params: ResolvedJobParams,
  forceZerosForEmptyPrompt: boolean,
): Promise<Conditioning> {
  const guided = params.guidance > 1;
  const timeIds = sdxlTimeIds(params);
  const cond = { text: params.prompt, text2: params.prompt2 || params.prompt };
  const single = (prompts: EncodedPrompts): UnetBatch => ({ prompts, timeIds: repeat(timeIds, prompts.batch) });
  if (!guided) {
    const [encoded] = await encoder.encode([cond], params.clipSkip);
    return { guided, batches: [single(encoded!)] };
  }

  let uncond: EncodedPrompts;
  let positive: EncodedPrompts;
  if (params.negativePrompt === undefined && forceZerosForEmptyPrompt) {
    [positive] = (await encoder.encode([cond], params.clipSkip)) as [EncodedPrompts];
    uncond = zeroPrompts(positive);
  } else {
    const negative = params.negativePrompt ?? '';
    [uncond, positive] = (await encoder.encode(
      [{ text: negative, text2: params.negativePrompt2 || negative }, cond],
      params.clipSkip,
    )) as [EncodedPrompts, EncodedPrompts];
  }
  const stacked = stackPrompts(uncond, positive);
  return { guided, batches: stacked ? [single(stacked)] : [single(uncond), single(positive)] };
}
