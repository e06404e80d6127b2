/**
 * DPM-Solver++ multistep, ported from diffusers' `DPMSolverMultistepScheduler` (Lu et al.
 * 2022, "DPM-Solver++"): a second-order exponential-integrator step that reuses the
 * previous model output, so it costs one model call per step.
 *
 * - `dpmsolver++` with Karras sigmas is "DPM++ 2M Karras";
 * - `sde-dpmsolver++` with Karras sigmas is "DPM++ 2M SDE Karras", Fooocus's default
 *   sampler: the same update plus fresh noise each step from the caller's `NoiseSource`
 *   (k-diffusion draws it from a Brownian tree, diffusers from `randn`; both are unit
 *   Gaussians per step, so a seeded source gives the same distribution, deterministically).
 *
 * Float32 op by op like diffusers' tensors; sigmas and timesteps in float64 as diffusers'
 * numpy code. Supported: solver order 1–2, midpoint / heun, epsilon / v_prediction /
 * sample, Karras or interpolated sigmas, spacing linspace / leading / trailing, final sigma
 * zero / sigma_min, lower_order_final, euler_at_final. Refused: the deprecated
 * `dpmsolver`/`sde-dpmsolver`, order 3, thresholding, learned variance, lambda clipping,
 * Lu / exponential / beta / flow sigmas, zero-SNR rescaling.
 */
import {
  alphasCumprod,
  betas,
  interpolate,
  karrasSigmas,
  linspace64,
  logFloat32,
  roundHalfEven,
  sigmaToTimestep,
  trainingSigmas,
  type NoiseScheduleConfig,
  type TimestepSpacing,
} from './noise-schedule.js';
import { checkStepSizes, drawNoise, type Scheduler, type SchedulerStepOutput, type StepOptions } from './scheduler.js';
import { readSchedulerConfig } from './scheduler-config.js';
import { StepIndex } from './step-index.js';

export interface DpmSolverMultistepSchedulerConfig extends NoiseScheduleConfig {
  solverOrder: 1 | 2;
  predictionType: 'epsilon' | 'v_prediction' | 'sample';
  algorithmType: 'dpmsolver++' | 'sde-dpmsolver++';
  solverType: 'midpoint' | 'heun';
  lowerOrderFinal: boolean;
  eulerAtFinal: boolean;
  useKarrasSigmas: boolean;
  finalSigmasType: 'zero' | 'sigma_min';
  timestepSpacing: TimestepSpacing;
  stepsOffset: number;
}

export const DPM_SOLVER_MULTISTEP_DEFAULTS: DpmSolverMultistepSchedulerConfig = {
  numTrainTimesteps: 1000,
  betaStart: 0.0001,
  betaEnd: 0.02,
  betaSchedule: 'linear',
  trainedBetas: null,
  solverOrder: 2,
  predictionType: 'epsilon',
  algorithmType: 'dpmsolver++',
  solverType: 'midpoint',
  lowerOrderFinal: true,
  eulerAtFinal: false,
  useKarrasSigmas: false,
  finalSigmasType: 'zero',
  timestepSpacing: 'linspace',
  stepsOffset: 0,
};

const f = Math.fround;
const NAME = 'DPMSolverMultistepScheduler';

export class DpmSolverMultistepScheduler implements Scheduler {
  readonly config: DpmSolverMultistepSchedulerConfig;
  readonly order = 1;
  readonly stochastic: boolean;
  readonly initNoiseSigma = 1;
  readonly alphasCumprod: Float32Array;
  private readonly trainSigmas: Float32Array;
  private timestepsValue: Float32Array;
  private sigmasValue: Float32Array;
  private readonly stepIndexValue = new StepIndex(NAME);
  /** Converted model outputs (x0 predictions) of the last `solverOrder` steps, oldest first. */
  private modelOutputs: (Float32Array | undefined)[] = [];
  private lowerOrderNums = 0;

  constructor(config: Partial<DpmSolverMultistepSchedulerConfig> = {}) {
    this.config = { ...DPM_SOLVER_MULTISTEP_DEFAULTS, ...config };
    if (this.config.solverOrder !== 1 && this.config.solverOrder !== 2) {
      throw new Error(`${NAME}: solver_order=${String(this.config.solverOrder)} is not supported (1 or 2)`);
    }
    this.stochastic = this.config.algorithmType === 'sde-dpmsolver++';
    const n = this.config.numTrainTimesteps;
    this.alphasCumprod = alphasCumprod(betas(this.config));
    this.trainSigmas = trainingSigmas(this.alphasCumprod);
    this.sigmasValue = this.trainSigmas;
    this.timestepsValue = Float32Array.from({ length: n }, (_, i) => n - 1 - i);
  }

  static fromConfig(
    json: Readonly<Record<string, unknown>>,
    overrides: Partial<DpmSolverMultistepSchedulerConfig> = {},
  ): DpmSolverMultistepScheduler {
    const config = readSchedulerConfig(NAME, json, DPM_SOLVER_MULTISTEP_DEFAULTS, {
      allowed: {
        betaSchedule: ['linear', 'scaled_linear', 'squaredcos_cap_v2'],
        solverOrder: [1, 2],
        predictionType: ['epsilon', 'v_prediction', 'sample'],
        algorithmType: ['dpmsolver++', 'sde-dpmsolver++'],
        solverType: ['midpoint', 'heun'],
        finalSigmasType: ['zero', 'sigma_min'],
        timestepSpacing: ['linspace', 'leading', 'trailing'],
      },
      unsupported: [
        ['thresholding', true],
        ['variance_type', 'learned'],
        ['variance_type', 'learned_range'],
        ['use_lu_lambdas', true],
        ['use_exponential_sigmas', true],
        ['use_beta_sigmas', true],
        ['use_flow_sigmas', true],
        ['use_dynamic_shifting', true],
        ['rescale_betas_zero_snr', true],
      ],
    });
    if (typeof json.lambda_min_clipped === 'number' && Number.isFinite(json.lambda_min_clipped)) {
      throw new Error(`${NAME}: lambda_min_clipped is not supported`);
    }
    return new DpmSolverMultistepScheduler({ ...config, ...overrides });
  }

  get timesteps(): Float32Array {
    return this.timestepsValue;
  }

  get sigmas(): Float32Array {
    return this.sigmasValue;
  }

  get stepIndex(): number | undefined {
    return this.stepIndexValue.value;
  }

  setTimesteps(numInferenceSteps: number): void {
    const { numTrainTimesteps: n, timestepSpacing, stepsOffset, useKarrasSigmas, finalSigmasType, betaSchedule } = this.config;
    const steps = numInferenceSteps;
    if (!Number.isInteger(steps) || steps < 1 || steps > n) {
      throw new Error(`numInferenceSteps must be an integer in [1, ${n}], got ${steps}`);
    }
    let timesteps: number[];
    let sigmas: number[];
    if (useKarrasSigmas) {
      const ascending = this.trainSigmas;
      const karras = karrasSigmas(ascending[0]!, ascending[ascending.length - 1]!, steps);
      const logSigmas = logFloat32(ascending);
      timesteps = Array.from(karras, (sigma) => sigmaToTimestep(sigma, logSigmas));
      if (betaSchedule !== 'squaredcos_cap_v2') timesteps = timesteps.map(roundHalfEven);
      sigmas = Array.from(karras);
    } else {
      // lambda_min_clipped = -inf keeps every training timestep: the last one is n.
      if (timestepSpacing === 'linspace') {
        timesteps = Array.from({ length: steps }, (_, i) => roundHalfEven(linspace64(0, n - 1, steps + 1, steps - i)));
      } else if (timestepSpacing === 'leading') {
        const ratio = Math.floor(n / (steps + 1));
        timesteps = Array.from({ length: steps }, (_, i) => (steps - i) * ratio + stepsOffset);
      } else {
        const ratio = n / steps;
        timesteps = Array.from({ length: Math.ceil(n / ratio) }, (_, i) => roundHalfEven(n - i * ratio) - 1);
      }
      sigmas = timesteps.map((t) => interpolate(t, this.trainSigmas));
    }
    sigmas.push(finalSigmasType === 'sigma_min' ? this.trainSigmas[0]! : 0);
    this.sigmasValue = Float32Array.from(sigmas);
    // diffusers stores these as int64 (Karras ones are rounded; squaredcos ones truncated).
    this.timestepsValue = Float32Array.from(timesteps, Math.trunc);
    this.modelOutputs = new Array<Float32Array | undefined>(this.config.solverOrder).fill(undefined);
    this.lowerOrderNums = 0;
    this.stepIndexValue.reset();
  }

  /** DPM-Solver works on unscaled latents. */
  scaleModelInput(sample: Float32Array, timestep: number): Float32Array {
    this.stepIndexValue.current(this.timestepsValue, timestep, 'scaleModelInput');
    return sample;
  }

  step(modelOutput: Float32Array, timestep: number, sample: Float32Array, options?: StepOptions): SchedulerStepOutput {
    checkStepSizes(modelOutput, sample);
    const index = this.stepIndexValue.current(this.timestepsValue, timestep, 'step');
    const { solverOrder, lowerOrderFinal, eulerAtFinal, finalSigmasType } = this.config;
    const count = this.timestepsValue.length;
    const finalLowerOrder =
      index === count - 1 && (eulerAtFinal || (lowerOrderFinal && count < 15) || finalSigmasType === 'zero');

    const x0 = this.convertModelOutput(modelOutput, sample, this.sigmasValue[index]!);
    this.modelOutputs.shift();
    this.modelOutputs.push(x0);
    const noise = this.stochastic ? drawNoise(NAME, options, sample.length) : undefined;

    const prevSample =
      solverOrder === 1 || this.lowerOrderNums < 1 || finalLowerOrder
        ? this.firstOrderUpdate(x0, sample, index, noise)
        : this.secondOrderUpdate(sample, index, noise);
    if (this.lowerOrderNums < solverOrder) this.lowerOrderNums += 1;
    this.stepIndexValue.advance();
    return { prevSample, predOriginalSample: x0 };
  }

  /** The model output as an x0 prediction (the "++" in DPM-Solver++). */
  private convertModelOutput(modelOutput: Float32Array, sample: Float32Array, sigma: number): Float32Array {
    const [alpha, sigmaT] = alphaSigma(sigma);
    const prediction = this.config.predictionType;
    if (prediction === 'sample') return modelOutput;
    // Plain loops, not TypedArray#map: a closure call per element is several times slower.
    const out = new Float32Array(sample.length);
    if (prediction === 'epsilon') {
      for (let i = 0; i < out.length; i++) out[i] = f(f(sample[i]! - f(sigmaT * modelOutput[i]!)) / alpha);
    } else {
      for (let i = 0; i < out.length; i++) out[i] = f(f(alpha * sample[i]!) - f(sigmaT * modelOutput[i]!));
    }
    return out;
  }

  private firstOrderUpdate(x0: Float32Array, sample: Float32Array, index: number, noise: Float32Array | undefined): Float32Array {
    const [alphaT, sigmaT] = alphaSigma(this.sigmasValue[index + 1]!);
    const [alphaS, sigmaS] = alphaSigma(this.sigmasValue[index]!);
    const h = f(lambda(alphaT, sigmaT) - lambda(alphaS, sigmaS));
    const out = new Float32Array(sample.length);
    if (!noise) {
      const a = f(sigmaT / sigmaS);
      const b = f(alphaT * f(f(Math.exp(-h)) - 1));
      for (let i = 0; i < out.length; i++) out[i] = f(a * sample[i]!) - f(b * x0[i]!);
      return out;
    }
    const e2h = f(Math.exp(f(-2 * h)));
    const a = f(f(sigmaT / sigmaS) * f(Math.exp(-h)));
    const b = f(alphaT * f(1 - e2h));
    const c = f(sigmaT * f(Math.sqrt(f(1 - e2h))));
    for (let i = 0; i < out.length; i++) out[i] = f(f(f(a * sample[i]!) + f(b * x0[i]!)) + f(c * noise[i]!));
    return out;
  }

  private secondOrderUpdate(sample: Float32Array, index: number, noise: Float32Array | undefined): Float32Array {
    const [alphaT, sigmaT] = alphaSigma(this.sigmasValue[index + 1]!);
    const [alphaS0, sigmaS0] = alphaSigma(this.sigmasValue[index]!);
    const [alphaS1, sigmaS1] = alphaSigma(this.sigmasValue[index - 1]!);
    const lambdaT = lambda(alphaT, sigmaT);
    const lambdaS0 = lambda(alphaS0, sigmaS0);
    const lambdaS1 = lambda(alphaS1, sigmaS1);
    const m0 = this.modelOutputs[this.modelOutputs.length - 1]!;
    const m1 = this.modelOutputs[this.modelOutputs.length - 2]!;
    const h = f(lambdaT - lambdaS0);
    const h0 = f(lambdaS0 - lambdaS1);
    const r0 = f(h0 / h);
    const d1Scale = f(1 / r0);
    const midpoint = this.config.solverType === 'midpoint';
    const out = new Float32Array(sample.length);
    if (!noise) {
      const expm1 = f(f(Math.exp(-h)) - 1);
      const a = f(sigmaT / sigmaS0);
      const b = f(alphaT * expm1);
      // midpoint: - 0.5 * b * D1; heun: + alpha_t * ((e^-h - 1) / h + 1) * D1
      const c = midpoint ? f(-f(0.5 * b)) : f(alphaT * f(f(expm1 / h) + 1));
      for (let i = 0; i < out.length; i++) {
        const d1 = f(d1Scale * f(m0[i]! - m1[i]!));
        out[i] = f(f(f(a * sample[i]!) - f(b * m0[i]!)) + f(c * d1));
      }
      return out;
    }
    const e2h = f(Math.exp(f(-2 * h)));
    const a = f(f(sigmaT / sigmaS0) * f(Math.exp(-h)));
    const b = f(alphaT * f(1 - e2h));
    const c = midpoint ? f(0.5 * b) : f(alphaT * f(f(f(1 - e2h) / f(-2 * h)) + 1));
    const e = f(sigmaT * f(Math.sqrt(f(1 - e2h))));
    for (let i = 0; i < out.length; i++) {
      const d1 = f(d1Scale * f(m0[i]! - m1[i]!));
      out[i] = f(f(f(f(a * sample[i]!) + f(b * m0[i]!)) + f(c * d1)) + f(e * noise[i]!));
    }
    return out;
  }
}

/** `_sigma_to_alpha_sigma_t`: the VP-space alpha_t and sigma_t of a Karras sigma, float32. */
function alphaSigma(sigma: number): [number, number] {
  const alpha = f(1 / f(Math.sqrt(f(f(sigma * sigma) + 1))));
  return [alpha, f(sigma * alpha)];
}

/** log-SNR / 2: log(alpha_t) - log(sigma_t), float32 (+∞ at sigma 0). */
function lambda(alpha: number, sigma: number): number {
  return f(f(Math.log(alpha)) - f(Math.log(sigma)));
}
