import { PipelineError } from '../errors/pipeline-error.js';
import type { OnnxSession } from '../onnx/onnx-session.js';
import type { TensorData } from '../onnx/tensor-data.js';
import type { Conditioning } from './conditioning.js';

export const LATENT_CHANNELS = 4;

/** One conditioning batch's feeds: the text side is fixed for a job, only `sample` and `timestep` change a step. */
interface BatchFeeds {
  branches: number;
  sample: Float32Array;
  feeds: Record<string, TensorData>;
}

/**
 * The UNet calls of one job's chunk of images: every step runs the same graph on the same
 * shapes with the same text conditioning, so the feeds are built once and each step only
 * copies the scaled latents into the preallocated `sample` buffer and sets the timestep.
 * (Rebuilding them cost a copy of the hidden states per step: 1.2 MB for SDXL with
 * guidance.) Predictions come back in branch order, images in order within each branch:
 * [uncond × images, cond × images] when guiding.
 */
export class UnetCall {
  private readonly batches: BatchFeeds[];
  private readonly timesteps: Float32Array[];
  /** Values of one image's prediction ([4, height, width]). */
  readonly item: number;
  /** Values of one image's input: `inputChannels` × height × width. */
  readonly inputItem: number;

  /** `inputChannels` is 9 for an inpainting UNet (latents, mask, masked-image latents). */
  constructor(
    private readonly unet: OnnxSession,
    conditioning: Conditioning,
    readonly images: number,
    readonly height: number,
    readonly width: number,
    inputChannels = LATENT_CHANNELS,
  ) {
    this.item = LATENT_CHANNELS * height * width;
    this.inputItem = inputChannels * height * width;
    const timestepSpec = unet.inputs.find((input) => input.name === 'timestep');
    const timestepShape = timestepSpec?.isTensor ? timestepSpec.shape : [];
    this.timesteps = [];
    this.batches = conditioning.batches.map(({ prompts, timeIds }) => {
      const batch = prompts.batch * images;
      const sample = new Float32Array(batch * this.inputItem);
      // The timestep input: a scalar, a single value, or one per batch item, as declared.
      const count = timestepShape.length === 0 ? 1 : timestepShape[0] === 1 ? 1 : batch;
      const timestep = new Float32Array(count);
      this.timesteps.push(timestep);
      const perBranch = (data: Float32Array, size: number) => {
        const out = new Float32Array(size * batch);
        for (let b = 0; b < prompts.batch; b++) {
          for (let i = 0; i < images; i++) out.set(data.subarray(b * size, (b + 1) * size), (b * images + i) * size);
        }
        return out;
      };
      const feeds: Record<string, TensorData> = {
        sample: { type: 'float32', data: sample, dims: [batch, inputChannels, height, width] },
        timestep: { type: 'float32', data: timestep, dims: timestepShape.length === 0 ? [] : [count] },
        encoder_hidden_states: {
          type: 'float32',
          data: perBranch(prompts.hiddenStates, prompts.sequenceLength * prompts.width),
          dims: [batch, prompts.sequenceLength, prompts.width],
        },
        text_embeds: {
          type: 'float32',
          data: perBranch(prompts.textEmbeds, prompts.projection),
          dims: [batch, prompts.projection],
        },
        time_ids: { type: 'float32', data: perBranch(timeIds, 6), dims: [batch, 6] },
      };
      return { branches: prompts.batch, sample, feeds };
    });
  }

  /** The first batch's latents as the UNet saw them at the last call: one scaled input per image. */
  get lastInputs(): Float32Array {
    return this.batches[0]!.sample.subarray(0, this.images * this.inputItem);
  }

  /** The noise predictions for `inputs` (one scaled latent per image, `inputItem` values each) at timestep `t`. */
  async predict(inputs: readonly Float32Array[], t: number): Promise<Float32Array> {
    if (inputs.length !== this.images) throw new Error(`UnetCall for ${this.images} images got ${inputs.length}`);
    const outputs: Float32Array[] = [];
    for (const [index, { branches, sample, feeds }] of this.batches.entries()) {
      for (let b = 0; b < branches; b++) {
        for (let i = 0; i < this.images; i++) sample.set(inputs[i]!, (b * this.images + i) * this.inputItem);
      }
      this.timesteps[index]!.fill(t);
      const { out_sample: prediction } = await this.unet.run(feeds, ['out_sample']);
      if (!prediction || prediction.type !== 'float32')
        throw new PipelineError('model_invalid', 'unet returned no float32 out_sample');
      outputs.push(prediction.data);
    }
    if (outputs.length === 1) return outputs[0]!;
    const out = new Float32Array(outputs.reduce((n, part) => n + part.length, 0));
    let at = 0;
    for (const part of outputs) {
      out.set(part, at);
      at += part.length;
    }
    return out;
  }
}
