/**
 * Ancestral Euler sampler, ported from diffusers' `EulerAncestralDiscreteScheduler`
 * (k-diffusion's `sample_euler_ancestral`, η = 1): each step goes down to `sigma_down` with
 * an Euler step, then adds fresh noise of size `sigma_up` to land on the next sigma. The
 * noise comes from the caller's `NoiseSource`, so a seeded source makes it deterministic.
 *
 * Float32 op by op like diffusers' tensors. Supported: beta schedules linear /
 * scaled_linear / squaredcos_cap_v2, spacing linspace / leading / trailing, prediction
 * types epsilon / v_prediction. Zero-SNR rescaling is refused.
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
import { checkStepSizes, drawNoise, type Scheduler, type SchedulerStepOutput, type StepOptions } from './scheduler.js';
import { readSchedulerConfig } from './scheduler-config.js';
import { StepIndex } from './step-index.js';

export interface EulerAncestralDiscreteSchedulerConfig extends NoiseScheduleConfig {
  predictionType: 'epsilon' | 'v_prediction';
  timestepSpacing: TimestepSpacing;
  stepsOffset: number;
}

export const EULER_ANCESTRAL_DISCRETE_DEFAULTS: EulerAncestralDiscreteSchedulerConfig = {
  numTrainTimesteps: 1000,
  betaStart: 0.0001,
  betaEnd: 0.02,
  betaSchedule: 'linear',
  trainedBetas: null,
  predictionType: 'epsilon',
  timestepSpacing: 'linspace',
  stepsOffset: 0,
};

const f = Math.fround;
const NAME = 'EulerAncestralDiscreteScheduler';

export class EulerAncestralDiscreteScheduler implements Scheduler {
  readonly config: EulerAncestralDiscreteSchedulerConfig;
  readonly order = 1;
  readonly stochastic = true;
  readonly alphasCumprod: Float32Array;
  private readonly trainSigmas: Float32Array;
  private timestepsValue: Float32Array;
  private sigmasValue: Float32Array;
  private readonly stepIndexValue = new StepIndex(NAME);

  constructor(config: Partial<EulerAncestralDiscreteSchedulerConfig> = {}) {
    this.config = { ...EULER_ANCESTRAL_DISCRETE_DEFAULTS, ...config };
    const n = this.config.numTrainTimesteps;
    this.alphasCumprod = alphasCumprod(betas(this.config));
    this.trainSigmas = trainingSigmas(this.alphasCumprod);
    this.sigmasValue = new Float32Array(n + 1);
    for (let i = 0; i < n; i++) this.sigmasValue[i] = this.trainSigmas[n - 1 - i]!;
    this.timestepsValue = Float32Array.from({ length: n }, (_, i) => n - 1 - i);
  }

  static fromConfig(
    json: Readonly<Record<string, unknown>>,
    overrides: Partial<EulerAncestralDiscreteSchedulerConfig> = {},
  ): EulerAncestralDiscreteScheduler {
    const config = readSchedulerConfig(NAME, json, EULER_ANCESTRAL_DISCRETE_DEFAULTS, {
      allowed: {
        betaSchedule: ['linear', 'scaled_linear', 'squaredcos_cap_v2'],
        predictionType: ['epsilon', 'v_prediction'],
        timestepSpacing: ['linspace', 'leading', 'trailing'],
      },
      unsupported: [['rescale_betas_zero_snr', true]],
    });
    return new EulerAncestralDiscreteScheduler({ ...config, ...overrides });
  }

  get timesteps(): Float32Array {
    return this.timestepsValue;
  }

  get sigmas(): Float32Array {
    return this.sigmasValue;
  }

  get initNoiseSigma(): number {
    const max = this.sigmasValue.reduce((a, b) => Math.max(a, b), 0);
    if (this.config.timestepSpacing === 'linspace' || this.config.timestepSpacing === 'trailing') return max;
    return f(Math.sqrt(f(f(max * max) + 1)));
  }

  get stepIndex(): number | undefined {
    return this.stepIndexValue.value;
  }

  setTimesteps(numInferenceSteps: number): void {
    const { numTrainTimesteps: n, timestepSpacing, stepsOffset } = this.config;
    const timesteps = spacedTimesteps(timestepSpacing, n, numInferenceSteps, stepsOffset);
    const sigmas = new Float32Array(timesteps.length + 1);
    timesteps.forEach((t, i) => {
      sigmas[i] = interpolate(t, this.trainSigmas);
    });
    this.timestepsValue = timesteps;
    this.sigmasValue = sigmas;
    this.stepIndexValue.reset();
  }

  scaleModelInput(sample: Float32Array, timestep: number): Float32Array {
    const sigma = this.sigmasValue[this.stepIndexValue.current(this.timestepsValue, timestep, 'scaleModelInput')]!;
    const denominator = f(Math.sqrt(f(f(sigma * sigma) + 1)));
    return sample.map((x) => x / denominator);
  }

  step(modelOutput: Float32Array, timestep: number, sample: Float32Array, options?: StepOptions): SchedulerStepOutput {
    checkStepSizes(modelOutput, sample);
    const index = this.stepIndexValue.current(this.timestepsValue, timestep, 'step');
    const noise = drawNoise(NAME, options, sample.length);
    const sigma = this.sigmasValue[index]!;
    const next = this.sigmasValue[index + 1]!;
    const sigmaSquared = f(sigma * sigma);
    const nextSquared = f(next * next);
    const sigmaUp = f(Math.sqrt(f(f(nextSquared * f(sigmaSquared - nextSquared)) / sigmaSquared)));
    const sigmaDown = f(Math.sqrt(f(nextSquared - f(sigmaUp * sigmaUp))));
    const dt = f(sigmaDown - sigma);
    const vScale = f(-sigma / f(Math.sqrt(f(sigmaSquared + 1))));
    const sigmaSquaredPlusOne = f(sigmaSquared + 1);

    const predOriginalSample = new Float32Array(sample.length);
    const prevSample = new Float32Array(sample.length);
    for (let i = 0; i < sample.length; i++) {
      const x = sample[i]!;
      const m = modelOutput[i]!;
      const x0 = this.config.predictionType === 'epsilon' ? f(x - f(sigma * m)) : f(f(m * vScale) + f(x / sigmaSquaredPlusOne));
      const derivative = f(f(x - x0) / sigma);
      predOriginalSample[i] = x0;
      prevSample[i] = f(x + f(derivative * dt)) + f(noise[i]! * sigmaUp);
    }
    this.stepIndexValue.advance();
    return { prevSample, predOriginalSample };
  }
}
