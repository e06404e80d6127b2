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
import { EulerSigmas, predictOriginal } from './euler-sigmas.js';
import type { NoiseScheduleConfig, TimestepSpacing } from './noise-schedule.js';
import { checkStepSizes, type Scheduler, type SchedulerStepOutput } from './scheduler.js';
import { readSchedulerConfig } from './scheduler-config.js';

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
  private readonly schedule: EulerSigmas;

  constructor(config: Partial<EulerDiscreteSchedulerConfig> = {}) {
    this.config = { ...EULER_DISCRETE_DEFAULTS, ...config };
    this.schedule = new EulerSigmas(NAME, this.config);
  }

  get alphasCumprod(): Float32Array {
    return this.schedule.alphasCumprod;
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
    return this.schedule.timesteps;
  }

  /** One more than `timesteps`: the last entry is the sigma the final step lands on. */
  get sigmas(): Float32Array {
    return this.schedule.sigmas;
  }

  get initNoiseSigma(): number {
    return this.schedule.initNoiseSigma(this.config.timestepSpacing);
  }

  /** Position in `timesteps` of the next step; undefined until the first scale/step call. */
  get stepIndex(): number | undefined {
    return this.schedule.stepIndex.value;
  }

  setTimesteps(numInferenceSteps: number): void {
    this.schedule.setTimesteps(this.config, numInferenceSteps, this.config.finalSigmasType);
  }

  /** Scales the latents for the model input: sample / sqrt(sigma² + 1). */
  scaleModelInput(sample: Float32Array, timestep: number): Float32Array {
    return this.schedule.scaleModelInput(sample, timestep);
  }

  /** One Euler step from `timestep` to the next sigma. */
  step(modelOutput: Float32Array, timestep: number, sample: Float32Array): SchedulerStepOutput {
    checkStepSizes(modelOutput, sample);
    const { sigma, next } = this.schedule.step(timestep);
    const dt = f(next - sigma);
    const prediction = this.config.predictionType;
    const sigmaSquaredPlusOne = f(f(sigma * sigma) + 1);
    const vScale = f(-sigma / f(Math.sqrt(sigmaSquaredPlusOne)));

    const predOriginalSample = new Float32Array(sample.length);
    const prevSample = new Float32Array(sample.length);
    if (prediction === 'epsilon') {
      // SDXL's case, on the step path of every job: the same arithmetic as below with the
      // prediction type decided once instead of per element (twice as fast).
      for (let i = 0; i < sample.length; i++) {
        const x = sample[i]!;
        const x0 = f(x - f(sigma * modelOutput[i]!));
        predOriginalSample[i] = x0;
        prevSample[i] = x + f(f(f(x - x0) / sigma) * dt);
      }
    } else {
      for (let i = 0; i < sample.length; i++) {
        const x = sample[i]!;
        const x0 = predictOriginal(prediction, x, modelOutput[i]!, sigma, sigmaSquaredPlusOne, vScale);
        predOriginalSample[i] = x0;
        prevSample[i] = x + f(f(f(x - x0) / sigma) * dt);
      }
    }
    this.schedule.stepIndex.advance();
    return { prevSample, predOriginalSample };
  }
}
