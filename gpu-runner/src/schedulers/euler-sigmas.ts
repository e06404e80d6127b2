import {
  alphasCumprod,
  betas,
  interpolate,
  spacedTimesteps,
  trainingSigmas,
  type NoiseScheduleConfig,
  type TimestepSpacing,
} from './noise-schedule.js';
import { StepIndex } from './step-index.js';

const f = Math.fround;

export type EulerPrediction = 'epsilon' | 'v_prediction' | 'sample';

/**
 * The sigma schedule both Euler samplers keep, as diffusers' Euler schedulers do: the
 * training sigmas, the inference sigmas interpolated from them at the spaced timesteps,
 * where the sampler is in them, the model-input scaling and the initial noise scale.
 * Float32 op by op like diffusers' tensors.
 */
export class EulerSigmas {
  readonly alphasCumprod: Float32Array;
  private readonly trainSigmas: Float32Array;
  private timestepsValue: Float32Array;
  private sigmasValue: Float32Array;
  readonly stepIndex: StepIndex;

  constructor(name: string, config: NoiseScheduleConfig) {
    const n = config.numTrainTimesteps;
    this.stepIndex = new StepIndex(name);
    this.alphasCumprod = alphasCumprod(betas(config));
    this.trainSigmas = trainingSigmas(this.alphasCumprod);
    // Before setTimesteps, diffusers exposes the full training schedule.
    this.sigmasValue = new Float32Array(n + 1);
    for (let i = 0; i < n; i++) this.sigmasValue[i] = this.trainSigmas[n - 1 - i]!;
    this.timestepsValue = Float32Array.from({ length: n }, (_, i) => n - 1 - i);
  }

  get timesteps(): Float32Array {
    return this.timestepsValue;
  }

  /** One more than `timesteps`: the last entry is the sigma the final step lands on. */
  get sigmas(): Float32Array {
    return this.sigmasValue;
  }

  setTimesteps(
    {
      numTrainTimesteps,
      timestepSpacing,
      stepsOffset,
    }: NoiseScheduleConfig & { timestepSpacing: TimestepSpacing; stepsOffset: number },
    numInferenceSteps: number,
    finalSigmasType: 'zero' | 'sigma_min',
  ): void {
    const timesteps = spacedTimesteps(timestepSpacing, numTrainTimesteps, numInferenceSteps, stepsOffset);
    const sigmas = new Float32Array(timesteps.length + 1);
    timesteps.forEach((t, i) => {
      sigmas[i] = interpolate(t, this.trainSigmas);
    });
    sigmas[timesteps.length] = finalSigmasType === 'sigma_min' ? this.trainSigmas[0]! : 0;
    this.timestepsValue = timesteps;
    this.sigmasValue = sigmas;
    this.stepIndex.reset();
  }

  initNoiseSigma(spacing: TimestepSpacing): number {
    const max = this.sigmasValue.reduce((a, b) => Math.max(a, b), 0);
    if (spacing === 'linspace' || spacing === 'trailing') return max;
    return f(Math.sqrt(f(f(max * max) + 1)));
  }

  /** Scales the latents for the model input: sample / sqrt(sigma² + 1). */
  scaleModelInput(sample: Float32Array, timestep: number): Float32Array {
    const sigma = this.sigmasValue[this.stepIndex.current(this.timestepsValue, timestep, 'scaleModelInput')]!;
    const denominator = f(Math.sqrt(f(f(sigma * sigma) + 1)));
    // A plain loop: TypedArray#map calls a closure per element, several times slower on a 1024² latent.
    const out = new Float32Array(sample.length);
    for (let i = 0; i < sample.length; i++) out[i] = sample[i]! / denominator;
    return out;
  }

  /** The step at `timestep`: its index, its sigma and the sigma it goes to. */
  step(timestep: number): { index: number; sigma: number; next: number } {
    const index = this.stepIndex.current(this.timestepsValue, timestep, 'step');
    return { index, sigma: this.sigmasValue[index]!, next: this.sigmasValue[index + 1]! };
  }
}

/**
 * The denoised sample (x0) the model's output predicts at `sigma`; `sigmaSquaredPlusOne`
 * and `vScale` (-sigma / sqrt(sigma² + 1)) are computed once per step by the caller.
 */
export function predictOriginal(
  prediction: EulerPrediction,
  x: number,
  m: number,
  sigma: number,
  sigmaSquaredPlusOne: number,
  vScale: number,
): number {
  if (prediction === 'epsilon') return f(x - f(sigma * m));
  if (prediction === 'v_prediction') return f(f(m * vScale) + f(x / sigmaSquaredPlusOne));
  return m;
}
