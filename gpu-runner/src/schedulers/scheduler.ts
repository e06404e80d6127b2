/**
 * What every scheduler port offers the pipeline: diffusers' scheduler API in camelCase.
 * A pipeline calls `setTimesteps`, multiplies its unit noise by `initNoiseSigma`, then for
 * each of `timesteps`: `scaleModelInput`, the model, `step`.
 */

/** Unit Gaussian noise for stochastic samplers: the role of diffusers' `generator`. */
export interface NoiseSource {
  /** `count` independent standard-normal float32 values, the next ones from this source. */
  gaussian(count: number): Float32Array;
}

export interface SchedulerStepOutput {
  prevSample: Float32Array;
  /** The model's estimate of the clean sample at this step (LCM calls it `denoised`). */
  predOriginalSample: Float32Array;
}

export interface StepOptions {
  /** Required by stochastic schedulers (`stochastic: true`), ignored by the others. */
  noise?: NoiseSource;
}

export interface Scheduler {
  /** Model evaluations per step (1 for all the ports here). */
  readonly order: number;
  /** Whether `step` draws noise, so needs `StepOptions.noise`. */
  readonly stochastic: boolean;
  /** The timesteps to run, in order; set by `setTimesteps`. */
  readonly timesteps: Float32Array;
  /** Multiply unit Gaussian noise by this to get the first latents. */
  readonly initNoiseSigma: number;
  setTimesteps(numInferenceSteps: number): void;
  scaleModelInput(sample: Float32Array, timestep: number): Float32Array;
  step(modelOutput: Float32Array, timestep: number, sample: Float32Array, options?: StepOptions): SchedulerStepOutput;
}

/** Throws unless `modelOutput` and `sample` have the same size. */
export function checkStepSizes(modelOutput: Float32Array, sample: Float32Array): void {
  if (modelOutput.length !== sample.length) {
    throw new Error(`modelOutput has ${modelOutput.length} values but sample has ${sample.length}`);
  }
}

/** The noise for one stochastic step, checked for size. */
export function drawNoise(name: string, options: StepOptions | undefined, count: number): Float32Array {
  if (!options?.noise) throw new Error(`${name}.step needs a noise source (options.noise): it is a stochastic sampler`);
  const noise = options.noise.gaussian(count);
  if (noise.length !== count) throw new Error(`the noise source returned ${noise.length} values, expected ${count}`);
  return noise;
}
