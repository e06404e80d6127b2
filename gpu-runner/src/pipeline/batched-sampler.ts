import type { ResolvedJobParams } from '@atelier/protocol';
import type { OnnxSession } from '../onnx/onnx-session.js';
import { GaussianNoise, gaussianNoise } from '../random/pcg32.js';
import type { Scheduler } from '../schedulers/scheduler.js';
import type { Conditioning } from './conditioning.js';
import type { SharpnessFilter } from './sharpness.js';
import { guidePair, rescaleGuidance, scale } from './tensor-ops.js';
import { LATENT_CHANNELS, UnetCall } from './unet-call.js';

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
   * 1) and each image's denoised estimate (for previews; not written to afterwards);
   * awaited before the next.
   */
  onStep: (images: number, step: number, denoised: readonly Float32Array[]) => void | Promise<void>;
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
  const call = new UnetCall(job.unet, conditioning, seeds.length, height, width);
  const { item } = call;
  let latents = seeds.map((seed, i) => scale(gaussianNoise(seed, item), schedulers[i]!.initNoiseSigma));
  const dims = { channels: LATENT_CHANNELS, height, width };
  // Each image's guided prediction, rewritten every step.
  const guidedNoise = conditioning.guided ? seeds.map(() => new Float32Array(item)) : [];

  for (const [index, t] of schedulers[0]!.timesteps.entries()) {
    job.checkAbort();
    const inputs = latents.map((x, i) => schedulers[i]!.scaleModelInput(x, t));
    // [branch 0: image 0..k-1, branch 1: image 0..k-1]: with guidance, the uncond half then the cond half.
    const raw = await call.predict(inputs, t);
    const predictions = job.sharpness ? job.sharpness.apply(raw, call.lastInputs, t, params.sharpness!, dims) : raw;
    const denoised: Float32Array[] = [];
    latents = latents.map((x, i) => {
      const noise = conditioning.guided
        ? guided(predictions, i, seeds.length, item, params, guidedNoise[i]!)
        : predictions.subarray(i * item, (i + 1) * item);
      const stepped = schedulers[i]!.step(noise, t, x, { noise: stepNoise[i]! });
      denoised.push(stepped.predOriginalSample);
      return stepped.prevSample;
    });
    await job.onStep(seeds.length, index + 1, denoised);
  }
  return latents;
}

/** Image `i`'s guided prediction from a batch laid out [uncond × images, cond × images], into `out`. */
function guided(
  predictions: Float32Array,
  i: number,
  images: number,
  item: number,
  params: ResolvedJobParams,
  out: Float32Array,
): Float32Array {
  const cond = predictions.subarray((images + i) * item, (images + i + 1) * item);
  const noise = guidePair(predictions.subarray(i * item, (i + 1) * item), cond, params.guidance, out);
  return rescaleGuidance(noise, cond, params.guidanceRescale ?? 0);
}
