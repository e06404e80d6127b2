import type { ResolvedJobParams } from '@atelier/protocol';
import { PipelineError } from '../errors/pipeline-error.js';
import type { OnnxSession } from '../onnx/onnx-session.js';
import { GaussianNoise, gaussianNoise } from '../random/pcg32.js';
import type { Scheduler } from '../schedulers/scheduler.js';
import type { Conditioning } from './conditioning.js';
import type { SharpnessFilter } from './sharpness.js';
import { applyGuidance, rescaleGuidance, scale } from './tensor-ops.js';

export const LATENT_CHANNELS = 4;
/**
 * PCG32 stream of the noise stochastic samplers add during sampling, apart from the
 * initial latents' (the default stream), so adding a sampler never changes the start.
 */
const STEP_NOISE_STREAM = 0x5eed_5de5n;

/**
 * Default UNet batch budget in image pixels: eight 1024 × 1024 items, i.e. four images with
 * classifier-free guidance. A real SDXL UNet's activations for one 1024² item take about
 * 1–1.5 GB in float32, so this fits a 24 GB GPU next to the weights.
 */
export const DEFAULT_UNET_BATCH_PIXELS = 8 * 1024 * 1024;

export interface SamplingJob {
  params: ResolvedJobParams;
  unet: OnnxSession;
  conditioning: Conditioning;
  /** A fresh scheduler for the job; each image gets its own (multistep samplers keep history). */
  scheduler: () => Scheduler;
  sharpness?: SharpnessFilter;
  /** Most image pixels × batch items in one UNet call; images are split into chunks within it. */
  batchPixels: number;
  /** Called before each UNet call; throws to stop. */
  checkAbort: () => void;
  /**
   * Called after each UNet step with how many images it advanced, the step's number (from
   * 1) and the first image's denoised estimate (for previews); awaited before the next.
   */
  onStep: (images: number, step: number, denoised: Float32Array) => void | Promise<void>;
}

/**
 * The sampling loop for all of a job's images at once. Image i starts from the noise of
 * seed + i and draws its step noise from its own seeded stream, so it is the same image as
 * the single image of a job with seed + i; the images share each UNet call, whose batch is
 * images × (2 with guidance, else 1), cut into chunks that fit `batchPixels`. Returns each
 * image's final latents.
 */
export async function sampleLatents(job: SamplingJob): Promise<Float32Array[]> {
  const { params, conditioning } = job;
  const height = params.height / 8;
  const width = params.width / 8;
  const branches = conditioning.batches.reduce((n, batch) => n + batch.prompts.batch, 0);
  const perCall = Math.max(1, Math.floor(job.batchPixels / (branches * params.width * params.height)));
  const seeds = Array.from({ length: params.imageCount }, (_, i) => params.seed + i);
  const out: Float32Array[] = [];
  for (let from = 0; from < seeds.length; from += perCall) {
    out.push(...(await sampleChunk(job, seeds.slice(from, from + perCall), height, width)));
  }
  return out;
}

async function sampleChunk(job: SamplingJob, seeds: number[], height: number, width: number): Promise<Float32Array[]> {
  const { params, conditioning } = job;
  const schedulers = seeds.map(() => {
    const scheduler = job.scheduler();
    scheduler.setTimesteps(params.steps);
    return scheduler;
  });
  const stepNoise = seeds.map((seed) => new GaussianNoise(seed, STEP_NOISE_STREAM));
  const item = LATENT_CHANNELS * height * width;
  let latents = seeds.map((seed, i) => scale(gaussianNoise(seed, item), schedulers[i]!.initNoiseSigma));
  const dims = { channels: LATENT_CHANNELS, height, width };

  for (const [index, t] of schedulers[0]!.timesteps.entries()) {
    job.checkAbort();
    const inputs = latents.map((x, i) => schedulers[i]!.scaleModelInput(x, t));
    // [branch 0: image 0..k-1, branch 1: image 0..k-1]: with guidance, the uncond half then the cond half.
    const raw = await predictBatch(job.unet, conditioning, inputs, t, height, width);
    const predictions = job.sharpness ? job.sharpness.apply(raw, concat(inputs), t, params.sharpness!, dims) : raw;
    let denoised: Float32Array | undefined;
    latents = latents.map((x, i) => {
      const noise = conditioning.guided
        ? guided(predictions, i, seeds.length, item, params)
        : predictions.subarray(i * item, (i + 1) * item);
      const stepped = schedulers[i]!.step(noise, t, x, { noise: stepNoise[i]! });
      denoised ??= stepped.predOriginalSample;
      return stepped.prevSample;
    });
    await job.onStep(seeds.length, index + 1, denoised!);
  }
  return latents;
}

/** Image `i`'s guided prediction from a batch laid out [uncond × images, cond × images]. */
function guided(predictions: Float32Array, i: number, images: number, item: number, params: ResolvedJobParams): Float32Array {
  const pair = new Float32Array(2 * item);
  pair.set(predictions.subarray(i * item, (i + 1) * item));
  pair.set(predictions.subarray((images + i) * item, (images + i + 1) * item), item);
  return rescaleGuidance(applyGuidance(pair, params.guidance), pair.subarray(item), params.guidanceRescale ?? 0);
}

/**
 * The UNet's noise predictions for every image under every conditioning branch, the
 * outputs concatenated in branch order, images in order within each branch. With one
 * image: [uncond, cond] when guiding (what the image modes' samplers take).
 */
export async function predictBatch(
  unet: OnnxSession,
  conditioning: Conditioning,
  inputs: Float32Array[],
  t: number,
  height: number,
  width: number,
): Promise<Float32Array> {
  const images = inputs.length;
  const outputs: Float32Array[] = [];
  for (const { prompts, timeIds } of conditioning.batches) {
    const batch = prompts.batch * images;
    const tokens = prompts.sequenceLength * prompts.width;
    const perBranch = (data: Float32Array, size: number) => {
      const out = new Float32Array(size * batch);
      for (let b = 0; b < prompts.batch; b++) {
        for (let i = 0; i < images; i++) out.set(data.subarray(b * size, (b + 1) * size), (b * images + i) * size);
      }
      return out;
    };
    const { out_sample: prediction } = await unet.run(
      {
        sample: {
          type: 'float32',
          data: concat(Array.from({ length: prompts.batch }, () => inputs).flat()),
          dims: [batch, LATENT_CHANNELS, height, width],
        },
        timestep: timestepFeed(unet, t, batch),
        encoder_hidden_states: {
          type: 'float32',
          data: perBranch(prompts.hiddenStates, tokens),
          dims: [batch, prompts.sequenceLength, prompts.width],
        },
        text_embeds: {
          type: 'float32',
          data: perBranch(prompts.textEmbeds, prompts.projection),
          dims: [batch, prompts.projection],
        },
        time_ids: { type: 'float32', data: perBranch(timeIds, 6), dims: [batch, 6] },
      },
      ['out_sample'],
    );
    if (!prediction || prediction.type !== 'float32')
      throw new PipelineError('model_invalid', 'unet returned no float32 out_sample');
    outputs.push(prediction.data);
  }
  return outputs.length === 1 ? outputs[0]! : concat(outputs);
}

/** The UNet's timestep input: a scalar, a single value, or one per batch item, as declared. */
function timestepFeed(unet: OnnxSession, t: number, batch: number) {
  const spec = unet.inputs.find((input) => input.name === 'timestep');
  const shape = spec?.isTensor ? spec.shape : [];
  if (shape.length === 0) return { type: 'float32' as const, data: Float32Array.of(t), dims: [] };
  const count = shape[0] === 1 ? 1 : batch;
  return { type: 'float32' as const, data: new Float32Array(count).fill(t), dims: [count] };
}

function concat(parts: readonly Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((n, part) => n + part.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}
