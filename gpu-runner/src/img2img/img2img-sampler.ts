import type { ResolvedJobParams } from '@atelier/protocol';
import { GaussianNoise, gaussianNoise } from '../random/pcg32.js';
import type { Conditioning } from '../pipeline/conditioning.js';
import { applyGuidance, rescaleGuidance, scale } from '../pipeline/tensor-ops.js';
import type { Scheduler } from '../schedulers/scheduler.js';
import type { DiffusionCore, JobControl } from './diffusion-core.js';

/** The image modes' PCG32 stream for the stochastic samplers' step noise (apart from the start noise). */
const STEP_NOISE_STREAM = 0x1a6e_5de5n;

/**
 * diffusers' img2img `strength`: of `steps` steps only the last `floor(steps · denoise)`
 * run, starting from the input's latents noised to the first of them. Answers how many
 * steps a job of this size runs, for progress totals.
 */
export function img2imgSteps(steps: number, denoise: number): { start: number; count: number } {
  const count = Math.min(Math.floor(steps * denoise), steps);
  return { start: Math.max(steps - count, 0), count };
}

/**
 * `scheduler.add_noise`: the clean latents noised to the level of `timesteps[index]`.
 * Sigma-space samplers (Euler, DPM-Solver) add `σ · noise`; the others (LCM) mix by
 * ᾱ as DDPM does.
 */
export function addNoise(scheduler: Scheduler, clean: Float32Array, noise: Float32Array, index: number): Float32Array {
  const out = new Float32Array(clean.length);
  const withSigmas = scheduler as Scheduler & { sigmas?: Float32Array; alphasCumprod?: Float32Array };
  if (withSigmas.sigmas) {
    const sigma = withSigmas.sigmas[index]!;
    for (let i = 0; i < clean.length; i++) out[i] = clean[i]! + sigma * noise[i]!;
    return out;
  }
  const alphas = withSigmas.alphasCumprod;
  if (!alphas) throw new Error('this scheduler offers neither sigmas nor alphas_cumprod to noise an input with');
  const alpha = alphas[Math.round(scheduler.timesteps[index]!)]!;
  const [a, b] = [Math.sqrt(alpha), Math.sqrt(1 - alpha)];
  for (let i = 0; i < clean.length; i++) out[i] = a * clean[i]! + b * noise[i]!;
  return out;
}

export interface Img2ImgRun {
  params: ResolvedJobParams;
  /** Latents of the input, already multiplied by the VAE scaling factor. */
  init: Float32Array;
  latentHeight: number;
  latentWidth: number;
  denoise: number;
  seed: number;
  /**
   * The UNet's guided noise prediction for the whole latent at `t`; defaults to one call on
   * the whole latent with `conditioning`. Upscale passes a tiled one.
   */
  predict?: (latents: Float32Array, t: number) => Promise<Float32Array>;
  conditioning?: Conditioning;
  /**
   * Called after each step with the latents and the index of the next timestep (the
   * schedule's length after the last step), to blend in what must be kept (background).
   */
  afterStep?: (latents: Float32Array, nextIndex: number, scheduler: Scheduler, noise: Float32Array) => Float32Array;
  /**
   * Start from pure noise (scaled by the scheduler's initial sigma) instead of the noised
   * input, as diffusers' inpainting pipelines do at full strength.
   */
  pureNoise?: boolean;
}

/** Runs the truncated schedule from the noised input; answers the final latents (still scaled). */
export async function sampleFromImage(core: DiffusionCore, control: JobControl, run: Img2ImgRun): Promise<Float32Array> {
  const { params, init, latentHeight, latentWidth, seed } = run;
  const scheduler = core.scheduler(params);
  scheduler.setTimesteps(params.steps);
  const { start } = img2imgSteps(params.steps, run.denoise);
  const first = start * scheduler.order;
  const timesteps = scheduler.timesteps.subarray(first);
  if (timesteps.length === 0) return init;
  const noise = gaussianNoise(seed, init.length);
  const stepNoise = new GaussianNoise(seed, STEP_NOISE_STREAM);
  let latents = run.pureNoise ? scale(noise, scheduler.initNoiseSigma) : addNoise(scheduler, init, noise, first);
  const predict =
    run.predict ??
    (async (x: Float32Array, t: number) => {
      const prediction = await core.predict(run.conditioning!, x, t, latentHeight, latentWidth);
      return guide(run.conditioning!, prediction, params);
    });
  for (let i = 0; i < timesteps.length; i++) {
    control.checkAbort();
    const t = timesteps[i]!;
    const noisePrediction = await predict(scheduler.scaleModelInput(latents, t), t);
    const stepped = scheduler.step(noisePrediction, t, latents, { noise: stepNoise });
    latents = stepped.prevSample;
    if (run.afterStep) latents = run.afterStep(latents, first + i + 1, scheduler, noise);
    control.step({
      step: i + 1,
      steps: timesteps.length,
      latents: [stepped.predOriginalSample],
      height: latentHeight,
      width: latentWidth,
    });
  }
  return latents;
}

/** Classifier-free guidance and its rescale, as the text-to-image loop applies them. */
export function guide(conditioning: Conditioning, prediction: Float32Array, params: ResolvedJobParams): Float32Array {
  if (!conditioning.guided) return prediction;
  return rescaleGuidance(
    applyGuidance(prediction, params.guidance),
    prediction.subarray(prediction.length / 2),
    params.guidanceRescale ?? 0,
  );
}
