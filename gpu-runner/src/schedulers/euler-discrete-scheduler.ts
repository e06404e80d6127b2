/**
 * Euler sampler for diffusion ODEs, ported from diffusers' `EulerDiscreteScheduler`
 * (Karras et al. 2022, Algorithm 2, with s_churn = 0) — the scheduler SDXL ships with.
 *
 * Self-contained on purpose (as each diffusers scheduler file is): config with the same
 * defaults, camelCase API, and arithmetic that reproduces diffusers' float32 tensors op by
 * op (`Math.fround` after every operation), so fixtures produced by the reference
 * implementation match to the last bits.
 *
 * Supported: beta schedules linear / scaled_linear / squaredcos_cap_v2, linear sigma
 * interpolation, timestep spacing linspace / leading / trailing, prediction types epsilon /
 * v_prediction / sample, final sigma zero / sigma_min. Options diffusers has beyond those
 * (Karras/exponential/beta sigmas, zero-SNR rescaling, stochastic churn) are rejected.
 */

export interface EulerDiscreteSchedulerConfig {
  numTrainTimesteps: number;
  betaStart: number;
  betaEnd: number;
  betaSchedule: 'linear' | 'scaled_linear' | 'squaredcos_cap_v2';
  trainedBetas: readonly number[] | null;
  predictionType: 'epsilon' | 'v_prediction' | 'sample';
  interpolationType: 'linear';
  timestepSpacing: 'linspace' | 'leading' | 'trailing';
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

export interface EulerStepOutput {
  prevSample: Float32Array;
  predOriginalSample: Float32Array;
}

const f = Math.fround;

export class EulerDiscreteScheduler {
  readonly config: EulerDiscreteSchedulerConfig;
  readonly order = 1;
  readonly alphasCumprod: Float32Array;
  private timestepsValue: Float32Array;
  private sigmasValue: Float32Array;
  private numInferenceSteps: number | undefined;
  private stepIndexValue: number | undefined;

  constructor(config: Partial<EulerDiscreteSchedulerConfig> = {}) {
    this.config = { ...EULER_DISCRETE_DEFAULTS, ...config };
    const { numTrainTimesteps: n } = this.config;
    if (!Number.isInteger(n) || n < 2) throw new Error(`numTrainTimesteps must be an integer >= 2, got ${n}`);
    const betas = this.betas();
    this.alphasCumprod = new Float32Array(n);
    let product = 1;
    for (let i = 0; i < n; i++) {
      product = f(product * f(1 - betas[i]!));
      this.alphasCumprod[i] = product;
    }
    // Before setTimesteps, diffusers exposes the full training schedule.
    const train = this.trainSigmas();
    this.sigmasValue = new Float32Array(n + 1);
    for (let i = 0; i < n; i++) this.sigmasValue[i] = train[n - 1 - i]!;
    this.timestepsValue = Float32Array.from({ length: n }, (_, i) => n - 1 - i);
  }

  /** Builds from a diffusers `scheduler_config.json` object (snake_case keys). */
  static fromConfig(json: Readonly<Record<string, unknown>>): EulerDiscreteScheduler {
    const unsupported: [string, unknown][] = [
      ['use_karras_sigmas', true],
      ['use_exponential_sigmas', true],
      ['use_beta_sigmas', true],
      ['rescale_betas_zero_snr', true],
      ['timestep_type', 'continuous'],
    ];
    for (const [key, value] of unsupported) {
      if (json[key] === value) throw new Error(`EulerDiscreteScheduler: ${key}=${String(value)} is not supported`);
    }
    if (json.interpolation_type !== undefined && json.interpolation_type !== 'linear') {
      throw new Error(`EulerDiscreteScheduler: interpolation_type=${JSON.stringify(json.interpolation_type)} is not supported`);
    }
    const pick = <K extends keyof EulerDiscreteSchedulerConfig>(key: string, allowed?: readonly unknown[]) => {
      const value = json[key];
      if (value === undefined || value === null) return {};
      if (allowed && !allowed.includes(value))
        throw new Error(`EulerDiscreteScheduler: ${key}=${JSON.stringify(value)} is not supported`);
      return { [camel(key)]: value } as Partial<Pick<EulerDiscreteSchedulerConfig, K>>;
    };
    return new EulerDiscreteScheduler({
      ...pick('num_train_timesteps'),
      ...pick('beta_start'),
      ...pick('beta_end'),
      ...pick('beta_schedule', ['linear', 'scaled_linear', 'squaredcos_cap_v2']),
      ...pick('trained_betas'),
      ...pick('prediction_type', ['epsilon', 'v_prediction', 'sample']),
      ...pick('timestep_spacing', ['linspace', 'leading', 'trailing']),
      ...pick('steps_offset'),
      ...pick('final_sigmas_type', ['zero', 'sigma_min']),
    });
  }

  get timesteps(): Float32Array {
    return this.timestepsValue;
  }

  /** One more than `timesteps`: the last entry is the sigma the final step lands on. */
  get sigmas(): Float32Array {
    return this.sigmasValue;
  }

  /** Multiply unit Gaussian noise by this to get the first latents. */
  get initNoiseSigma(): number {
    const max = this.sigmasValue.reduce((a, b) => Math.max(a, b), 0);
    if (this.config.timestepSpacing === 'linspace' || this.config.timestepSpacing === 'trailing') return max;
    return f(Math.sqrt(f(f(max * max) + 1)));
  }

  /** Position in `timesteps` of the next step; undefined until the first scale/step call. */
  get stepIndex(): number | undefined {
    return this.stepIndexValue;
  }

  setTimesteps(numInferenceSteps: number): void {
    const { numTrainTimesteps: n, timestepSpacing, stepsOffset } = this.config;
    if (!Number.isInteger(numInferenceSteps) || numInferenceSteps < 1 || numInferenceSteps > n) {
      throw new Error(`numInferenceSteps must be an integer in [1, ${n}], got ${numInferenceSteps}`);
    }
    const steps = numInferenceSteps;
    let timesteps: Float32Array;
    if (timestepSpacing === 'linspace') {
      // np.linspace(0, n - 1, steps, dtype=float32)[::-1]: computed in float64, then cast.
      timesteps = Float32Array.from({ length: steps }, (_, i) => linspace64(0, n - 1, steps, steps - 1 - i));
    } else if (timestepSpacing === 'leading') {
      const ratio = Math.floor(n / steps);
      timesteps = Float32Array.from({ length: steps }, (_, i) => (steps - 1 - i) * ratio + stepsOffset);
    } else {
      // np.arange(n, 0, -n / steps).round() - 1; numpy rounds half to even.
      const ratio = n / steps;
      const count = Math.ceil(n / ratio);
      timesteps = Float32Array.from({ length: count }, (_, i) => roundHalfEven(n - i * ratio) - 1);
    }

    const train = this.trainSigmas();
    const sigmas = new Float32Array(timesteps.length + 1);
    timesteps.forEach((t, i) => {
      sigmas[i] = interpolate(t, train);
    });
    sigmas[timesteps.length] = this.config.finalSigmasType === 'sigma_min' ? train[0]! : 0;

    this.timestepsValue = timesteps;
    this.sigmasValue = sigmas;
    this.numInferenceSteps = steps;
    this.stepIndexValue = undefined;
  }

  /** Scales the latents for the model input: sample / sqrt(sigma² + 1). */
  scaleModelInput(sample: Float32Array, timestep: number): Float32Array {
    const sigma = this.sigmasValue[this.currentIndex(timestep, 'scaleModelInput')]!;
    const denominator = f(Math.sqrt(f(f(sigma * sigma) + 1)));
    const out = new Float32Array(sample.length);
    for (let i = 0; i < sample.length; i++) out[i] = sample[i]! / denominator;
    return out;
  }

  /** One Euler step from `timestep` to the next sigma. */
  step(modelOutput: Float32Array, timestep: number, sample: Float32Array): EulerStepOutput {
    if (modelOutput.length !== sample.length) {
      throw new Error(`modelOutput has ${modelOutput.length} values but sample has ${sample.length}`);
    }
    const index = this.currentIndex(timestep, 'step');
    if (index + 1 >= this.sigmasValue.length) throw new Error('step called after the last timestep');
    const sigma = this.sigmasValue[index]!;
    const next = this.sigmasValue[index + 1]!;
    const dt = f(next - sigma);
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
    this.stepIndexValue = index + 1;
    return { prevSample, predOriginalSample };
  }

  /**
   * The schedule index for `timestep`. The first call locates it as diffusers does (the
   * second occurrence when a timestep repeats, so that img2img starting mid-schedule does
   * not skip a sigma); later calls must follow the schedule in order.
   */
  private currentIndex(timestep: number, caller: string): number {
    if (this.numInferenceSteps === undefined) throw new Error(`${caller} called before setTimesteps`);
    const t = f(timestep);
    if (this.stepIndexValue === undefined) {
      const matches: number[] = [];
      this.timestepsValue.forEach((value, i) => {
        if (value === t) matches.push(i);
      });
      if (matches.length === 0) throw new Error(`timestep ${timestep} is not in the schedule`);
      this.stepIndexValue = matches.length > 1 ? matches[1]! : matches[0]!;
    } else if (this.stepIndexValue >= this.timestepsValue.length) {
      throw new Error(`${caller} called after the last timestep`);
    } else if (this.timestepsValue[this.stepIndexValue] !== t) {
      throw new Error(`timestep ${timestep} is not the current one (${this.timestepsValue[this.stepIndexValue]})`);
    }
    return this.stepIndexValue;
  }

  private betas(): Float32Array {
    const { numTrainTimesteps: n, betaStart, betaEnd, betaSchedule, trainedBetas } = this.config;
    if (trainedBetas) {
      if (trainedBetas.length !== n) throw new Error(`trainedBetas has ${trainedBetas.length} values, expected ${n}`);
      return Float32Array.from(trainedBetas);
    }
    if (betaSchedule === 'linear') return torchLinspace32(betaStart, betaEnd, n);
    if (betaSchedule === 'scaled_linear') return torchLinspace32(Math.sqrt(betaStart), Math.sqrt(betaEnd), n).map((b) => b * b);
    // betas_for_alpha_bar with the cosine alpha_bar, in float64 then cast, as diffusers does.
    const alphaBar = (t: number) => Math.cos(((t + 0.008) / 1.008) * (Math.PI / 2)) ** 2;
    return Float32Array.from({ length: n }, (_, i) => Math.min(1 - alphaBar((i + 1) / n) / alphaBar(i / n), 0.999));
  }

  /** sqrt((1 - ᾱ) / ᾱ) per training timestep, ascending with t. */
  private trainSigmas(): Float32Array {
    return this.alphasCumprod.map((a) => f(Math.sqrt(f(f(1 - a) / a))));
  }
}

/**
 * torch.linspace(start, end, steps, dtype=float32) on CPU (scalar kernel): float32 bounds and
 * step, the first half counted up from `start` and the second half down from `end`.
 */
function torchLinspace32(start: number, end: number, steps: number): Float32Array {
  const s = f(start);
  const e = f(end);
  const step = f(f(e - s) / (steps - 1));
  const half = Math.floor(steps / 2);
  return Float32Array.from({ length: steps }, (_, i) => (i < half ? f(s + f(step * i)) : f(e - f(step * (steps - i - 1)))));
}

/** Element `i` of np.linspace(start, stop, num) in float64 (numpy's formula). */
function linspace64(start: number, stop: number, num: number, i: number): number {
  if (num === 1) return start;
  const delta = stop - start;
  const step = delta / (num - 1);
  if (i === num - 1) return stop;
  return step === 0 ? start + (i / (num - 1)) * delta : start + i * step;
}

/** np.interp(t, arange(len(table)), table) for t within [0, len - 1]. */
function interpolate(t: number, table: Float32Array): number {
  const last = table.length - 1;
  if (t <= 0) return table[0]!;
  if (t >= last) return table[last]!;
  const j = Math.floor(t);
  if (j === t) return table[j]!;
  const slope = (table[j + 1]! - table[j]!) / 1;
  return slope * (t - j) + table[j]!;
}

function roundHalfEven(x: number): number {
  const floor = Math.floor(x);
  const diff = x - floor;
  if (diff < 0.5) return floor;
  if (diff > 0.5) return floor + 1;
  return floor % 2 === 0 ? floor : floor + 1;
}

function camel(snake: string): string {
  return snake.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
}
