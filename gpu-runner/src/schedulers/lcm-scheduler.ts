/**
 * Latent Consistency Model sampler, ported from diffusers' `LCMScheduler` (Luo et al. 2023).
 * For LCM-distilled weights (LCM-LoRA, "Extreme Speed"): each step maps the sample straight
 * to a clean estimate with the consistency boundary condition (c_skip, c_out), then — except
 * at the last step — re-noises it to the next timestep with fresh noise from the caller's
 * `NoiseSource`. Timesteps are picked from the distillation schedule
 * (`original_inference_steps`, 50 by default), not from `timestep_spacing`.
 *
 * Float32 op by op like diffusers' tensors. Supported: beta schedules linear / scaled_linear
 * / squaredcos_cap_v2, prediction epsilon / v_prediction / sample, clip_sample,
 * set_alpha_to_one. Refused: thresholding, zero-SNR rescaling.
 */
import { alphasCumprod, betas, linspace64, type NoiseScheduleConfig } from './noise-schedule.js';
import { checkStepSizes, drawNoise, type Scheduler, type SchedulerStepOutput, type StepOptions } from './scheduler.js';
import { readSchedulerConfig } from './scheduler-config.js';
import { StepIndex } from './step-index.js';

export interface LcmSchedulerConfig extends NoiseScheduleConfig {
  originalInferenceSteps: number;
  clipSample: boolean;
  clipSampleRange: number;
  setAlphaToOne: boolean;
  predictionType: 'epsilon' | 'v_prediction' | 'sample';
  timestepScaling: number;
}

export const LCM_DEFAULTS: LcmSchedulerConfig = {
  numTrainTimesteps: 1000,
  betaStart: 0.00085,
  betaEnd: 0.012,
  betaSchedule: 'scaled_linear',
  trainedBetas: null,
  originalInferenceSteps: 50,
  clipSample: false,
  clipSampleRange: 1,
  setAlphaToOne: true,
  predictionType: 'epsilon',
  timestepScaling: 10,
};

const f = Math.fround;
const NAME = 'LCMScheduler';
/** The consistency model's sigma_data. */
const SIGMA_DATA_SQUARED = 0.25;

export class LcmScheduler implements Scheduler {
  readonly config: LcmSchedulerConfig;
  readonly order = 1;
  readonly stochastic = true;
  readonly initNoiseSigma = 1;
  readonly alphasCumprod: Float32Array;
  private readonly finalAlphaCumprod: number;
  private timestepsValue: Float32Array;
  private readonly stepIndexValue = new StepIndex(NAME);

  constructor(config: Partial<LcmSchedulerConfig> = {}) {
    this.config = { ...LCM_DEFAULTS, ...config };
    const n = this.config.numTrainTimesteps;
    this.alphasCumprod = alphasCumprod(betas(this.config));
    this.finalAlphaCumprod = this.config.setAlphaToOne ? 1 : this.alphasCumprod[0]!;
    this.timestepsValue = Float32Array.from({ length: n }, (_, i) => n - 1 - i);
  }

  static fromConfig(json: Readonly<Record<string, unknown>>, overrides: Partial<LcmSchedulerConfig> = {}): LcmScheduler {
    const config = readSchedulerConfig(NAME, json, LCM_DEFAULTS, {
      allowed: {
        betaSchedule: ['linear', 'scaled_linear', 'squaredcos_cap_v2'],
        predictionType: ['epsilon', 'v_prediction', 'sample'],
      },
      unsupported: [
        ['thresholding', true],
        ['rescale_betas_zero_snr', true],
      ],
    });
    return new LcmScheduler({ ...config, ...overrides });
  }

  get timesteps(): Float32Array {
    return this.timestepsValue;
  }

  get stepIndex(): number | undefined {
    return this.stepIndexValue.value;
  }

  setTimesteps(numInferenceSteps: number): void {
    const { numTrainTimesteps: n, originalInferenceSteps: original } = this.config;
    if (!Number.isInteger(original) || original < 1 || original > n) {
      throw new Error(`${NAME}: original_inference_steps must be an integer in [1, ${n}], got ${original}`);
    }
    if (!Number.isInteger(numInferenceSteps) || numInferenceSteps < 1 || numInferenceSteps > original) {
      throw new Error(
        `numInferenceSteps must be an integer in [1, ${original}] (original_inference_steps), got ${numInferenceSteps}`,
      );
    }
    const k = Math.floor(n / original);
    // The distillation schedule, descending: original * k - 1, ..., k - 1.
    const origin = Array.from({ length: original }, (_, i) => (original - i) * k - 1);
    // np.linspace(0, original, steps, endpoint=False), floored: `original / steps` apart.
    this.timestepsValue = Float32Array.from({ length: numInferenceSteps }, (_, i) => {
      const at = Math.floor(linspace64(0, original, numInferenceSteps + 1, i));
      return origin[at]!;
    });
    this.stepIndexValue.reset();
  }

  /** LCM works on unscaled latents. */
  scaleModelInput(sample: Float32Array, timestep: number): Float32Array {
    this.stepIndexValue.current(this.timestepsValue, timestep, 'scaleModelInput');
    return sample;
  }

  step(modelOutput: Float32Array, timestep: number, sample: Float32Array, options?: StepOptions): SchedulerStepOutput {
    checkStepSizes(modelOutput, sample);
    const index = this.stepIndexValue.current(this.timestepsValue, timestep, 'step');
    const last = index === this.timestepsValue.length - 1;
    const t = this.timestepsValue[index]!;
    const alphaProd = this.alphasCumprod[t]!;
    const sqrtAlpha = f(Math.sqrt(alphaProd));
    const sqrtBeta = f(Math.sqrt(f(1 - alphaProd)));

    // get_scalings_for_boundary_condition_discrete: the int timestep times a float becomes float32.
    const scaled = f(t * this.config.timestepScaling);
    const scaledSquaredPlus = f(f(scaled * scaled) + SIGMA_DATA_SQUARED);
    const cSkip = f(SIGMA_DATA_SQUARED / scaledSquaredPlus);
    const cOut = f(scaled / f(Math.sqrt(scaledSquaredPlus)));

    const { predictionType, clipSample, clipSampleRange } = this.config;
    const range = f(clipSampleRange);
    const denoised = new Float32Array(sample.length);
    for (let i = 0; i < sample.length; i++) {
      const x = sample[i]!;
      const m = modelOutput[i]!;
      let x0 =
        predictionType === 'epsilon'
          ? f(f(x - f(sqrtBeta * m)) / sqrtAlpha)
          : predictionType === 'v_prediction'
            ? f(f(sqrtAlpha * x) - f(sqrtBeta * m))
            : m;
      if (clipSample) x0 = Math.min(range, Math.max(-range, x0));
      denoised[i] = f(f(cOut * x0) + f(cSkip * x));
    }
    this.stepIndexValue.advance();
    if (last) return { prevSample: denoised, predOriginalSample: denoised };

    const noise = drawNoise(NAME, options, sample.length);
    const next = this.timestepsValue[index + 1]!;
    const alphaPrev = next >= 0 ? this.alphasCumprod[next]! : this.finalAlphaCumprod;
    const sqrtAlphaPrev = f(Math.sqrt(alphaPrev));
    const sqrtBetaPrev = f(Math.sqrt(f(1 - alphaPrev)));
    const prevSample = new Float32Array(denoised.length);
    for (let i = 0; i < denoised.length; i++) prevSample[i] = f(sqrtAlphaPrev * denoised[i]!) + f(sqrtBetaPrev * noise[i]!);
    return { prevSample, predOriginalSample: denoised };
  }
}
