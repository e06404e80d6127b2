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
import { EulerSigmas, predictOriginal } from './euler-sigmas.js';
import type { NoiseScheduleConfig, TimestepSpacing } from './noise-schedule.js';
import { checkStepSizes, drawNoise, type Scheduler, type SchedulerStepOutput, type StepOptions } from './scheduler.js';
import { readSchedulerConfig } from './scheduler-config.js';

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
  private readonly schedule: EulerSigmas;

  constructor(config: Partial<EulerAncestralDiscreteSchedulerConfig> = {}) {
    this.config = { ...EULER_ANCESTRAL_DISCRETE_DEFAULTS, ...config };
    this.schedule = new EulerSigmas(NAME, this.config);
  }

  get alphasCumprod(): Float32Array {
    return this.schedule.alphasCumprod;
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
    return this.schedule.timesteps;
  }

  get sigmas(): Float32Array {
    return this.schedule.sigmas;
  }

  get initNoiseSigma(): number {
    return this.schedule.initNoiseSigma(this.config.timestepSpacing);
  }

  get stepIndex(): number | undefined {
    return this.schedule.stepIndex.value;
  }

  /** The last sigma is always zero: the ancestral step's noise is sized to land exactly on each next one. */
  setTimesteps(numInferenceSteps: number): void {
    this.schedule.setTimesteps(this.config, numInferenceSteps, 'zero');
  }

  scaleModelInput(sample: Float32Array, timestep: number): Float32Array {
    return this.schedule.scaleModelInput(sample, timestep);
  }

  step(modelOutput: Float32Array, timestep: number, sample: Float32Array, options?: StepOptions): SchedulerStepOutput {
    checkStepSizes(modelOutput, sample);
    const { sigma, next } = this.schedule.step(timestep);
    const noise = drawNoise(NAME, options, sample.length);
    const sigmaSquared = f(sigma * sigma);
    const nextSquared = f(next * next);
    const sigmaUp = f(Math.sqrt(f(f(nextSquared * f(sigmaSquared - nextSquared)) / sigmaSquared)));
    const sigmaDown = f(Math.sqrt(f(nextSquared - f(sigmaUp * sigmaUp))));
    const dt = f(sigmaDown - sigma);
    const vScale = f(-sigma / f(Math.sqrt(f(sigmaSquared + 1))));
    const sigmaSquaredPlusOne = f(sigmaSquared + 1);

    const predOriginalSample = new Float32Array(sample.length);
    const prevSample = new Float32Array(sample.length);
    const prediction = this.config.predictionType;
    for (let i = 0; i < sample.length; i++) {
      const x = sample[i]!;
      const m = modelOutput[i]!;
      const x0 =
        prediction === 'epsilon' ? f(x - f(sigma * m)) : predictOriginal(prediction, x, m, sigma, sigmaSquaredPlusOne, vScale);
      const derivative = f(f(x - x0) / sigma);
      predOriginalSample[i] = x0;
      prevSample[i] = f(x + f(derivative * dt)) + f(noise[i]! * sigmaUp);
    }
    this.schedule.stepIndex.advance();
    return { prevSample, predOriginalSample };
  }
}
