/**
 * Euler sampler for diffusion ODEs, ported from diffusers' `EulerDiscreteScheduler`
 * (Karras et al. 2022, Algorithm 2, with s_churn = 0) — the scheduler SDXL ships with.
 *
 * Arithmetic reproduces diffusers' float32 tensors op by op (`Math.fround` after every
 * operation) and its numpy float64 where diffusers uses numpy, so golden values made by
 * diffusers match to the last bits.
 *
 * Supported: beta schedules linear / scaled_linear / squaredcos_cap_v2, linear sigma
 * interpolation, timestep spacing linspace / leading / trailing, prediction types epsilon /
 * v_prediction / sample, final sigma zero / sigma_min. Options diffusers has beyond those
 * (Karras/exponential/beta sigmas, zero-SNR rescaling, stochastic churn) are refused.
 */
import {
  alphasCumprod,
  betas,
  interpolate,
  spacedTimesteps,
  trainingSigmas,
  type NoiseScheduleConfig,
  type TimestepSpacing,
} from './noise-schedule.js';
import { checkStepSizes, type Scheduler, type SchedulerStepOutput } from './scheduler.js';
import { readSchedulerConfig } from './scheduler-config.js';
import { StepIndex } from './step-index.js';

export interface EulerDiscreteSchedulerConfig extends NoiseScheduleConfig {
  predictionType: 'epsilon' | 'v_prediction' | 'sample';
  interpolationType: 'linear';
  timestepSpacing: TimestepSpacing;
  stepsOffset: number;
  finalSigmasType: 'zero' | 'sigma_min';
}

/** diffusers' constructor defaults; `scheduler_config.json` overrides them. */
export const EULER_DISCRETE_DEFAULTS: EulerDiscreteSchedulerConfig = {
  numTrainTimesteps: 1000,
  betaStart: 0.0001,
  betaEnd: 0.02,
  betaSchedule: 'linear',
  trainedBetas: null,
  predictionType: 'epsilon',
  interpolationType: 'linear',
  timestepSpacing: 'linspace',
  stepsOffset: 0,
  finalSigmasType: 'zero',
};

const f = Math.fround;
const NAME = 'EulerDiscreteScheduler';

export class EulerDiscreteScheduler implements Scheduler {
  readonly config: EulerDiscreteSchedulerConfig;
  readonly order = 1;
  readonly stochastic = false;
  readonly alphasCumprod: Float32Array;
  private readonly trainSigmas: Float32Array;
  private timestepsValue: Float32Array;
  private sigmasValue: Float32Array;
  private readonly stepIndexValue = new StepIndex(NAME);

  constructor(config: Partial<EulerDiscreteSchedulerConfig> = {}) {
    this.config = { ...EULER_DISCRETE_DEFAULTS, ...config };
    const n = this.config.numTrainTimesteps;
    this.alphasCumprod = alphasCumprod(betas(this.config));
    this.trainSigmas = trainingSigmas(this.alphasCumprod);
    // Before setTimesteps, diffusers exposes the full training schedule.
    this.sigmasValue = new Float32Array(n + 1);
    for (let i = 0; i < n; i++) this.sigmasValue[i] = this.trainSigmas[n - 1 - i]!;
    this.timestepsValue = Float32Array.from({ length: n }, (_, i) => n - 1 - i);
  }

  /** `EulerDiscreteScheduler.from_config(json, **overrides)`: snake_case JSON, camelCase overrides. */
  static fromConfig(
    json: Readonly<Record<string, unknown>>,
    overrides: Partial<EulerDiscreteSchedulerConfig> = {},
  ): EulerDiscreteScheduler {
    const config = readSchedulerConfig(NAME, json, EULER_DISCRETE_DEFAULTS, {
      allowed: {
        betaSchedule: ['linear', 'scaled_linear', 'squaredcos_cap_v2'],
        predictionType: ['epsilon', 'v_prediction', 'sample'],
        interpolationType: ['linear'],
        timestepSpacing: ['linspace', 'leading', 'trailing'],
        finalSigmasType: ['zero', 'sigma_min'],
      },
      unsupported: [
        ['use_karras_sigmas', true],
        ['use_exponential_sigmas', true],
        ['use_beta_sigmas', true],
        ['rescale_betas_zero_snr', true],
        ['timestep_type', 'continuous'],
      ],
    });
    return new EulerDiscreteScheduler({ ...config, ...overrides });
  }

  get timesteps(): Float32Array {
    return this.timestepsValue;
  }

  /** One more than `timesteps`: the last entry is the sigma the final step lands on. */
  get sigmas(): Float32Array {
    return this.sigmasValue;
  }

  get initNoiseSigma(): number {
    const max = this.sigmasValue.reduce((a, b) => Math.max(a, b), 0);
    if (this.config.timestepSpacing === 'linspace' || this.config.timestepSpacing === 'trailing') return max;
    return f(Math.sqrt(f(f(max * max) + 1)));
  }

  /** Position in `timesteps` of the next step; undefined until the first scale/step call. */
  get stepIndex(): number | undefined {
    return this.stepIndexValue.value;
  }

  setTimesteps(numInferenceSteps: number): void {
    const { numTrainTimesteps: n, timestepSpacing, stepsOffset, finalSigmasType } = this.config;
    const timesteps = spacedTimesteps(timestepSpacing, n, numInferenceSteps, stepsOffset);
    const sigmas = new Float32Array(timesteps.length + 1);
    timesteps.forEach((t, i) => {
      sigmas[i] = interpolate(t, this.trainSigmas);
    });
    sigmas[timesteps.length] = finalSigmasType === 'sigma_min' ? this.trainSigmas[0]! : 0;
    this.timestepsValue = timesteps;
    this.sigmasValue = sigmas;
    this.stepIndexValue.reset();
  }

  /** Scales the latents for the model input: sample / sqrt(sigma² + 1). */
  scaleModelInput(sample: Float32Array, timestep: number): Float32Array {
    const sigma = this.sigmasValue[this.stepIndexValue.current(this.timestepsValue, timestep, 'scaleModelInput')]!;
    const denominator = f(Math.sqrt(f(f(sigma * sigma) + 1)));
    return sample.map((x) => x / denominator);
  }

  /** One Euler step from `timestep` to the next sigma. */
  step(modelOutput: Float32Array, timestep: number, sample: Float32Array): SchedulerStepOutput {
    checkStepSizes(modelOutput, sample);
    const index = this.stepIndexValue.current(this.timestepsValue, timestep, 'step');
    const sigma = this.sigmasValue[index]!;
    const dt = f(this.sigmasValue[index + 1]! - sigma);
    const prediction = this.config.predictionType;
    const sigmaSquaredPlusOne = f(f(sigma * sigma) + 1);
    const vScale = f(-sigma / f(Math.sqrt(sigmaSquaredPlusOne)));

    const predOriginalSample = new Float32Array(sample.length);
    const prevSample = new Float32Array(sample.length);
    for (let i = 0; i < sample.length; i++) {
      const x = sample[i]!;
      const m = modelOutput[i]!;
      let x0: number;
      if (prediction === 'epsilon') x0 = f(x - f(sigma * m));
      else if (prediction === 'v_prediction') x0 = f(f(m * vScale) + f(x / sigmaSquaredPlusOne));
      else x0 = m;
      const derivative = f(f(x - x0) / sigma);
      predOriginalSample[i] = x0;
      prevSample[i] = x + f(derivative * dt);
    }
    this.stepIndexValue.advance();
    return { prevSample, predOriginalSample };
  }
}
