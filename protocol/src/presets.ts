/**
 * Performance presets as data: the server resolves a request's `performance` with these
 * values, and a runner advertises (in `hello`) the presets whose extra weights its model
 * directory holds. Values follow Fooocus's presets.
 */
import type { Performance, SchedulerName, TimestepSpacing } from './generation.js';

/**
 * Weights a fast preset needs beyond the base model: a distilled UNet exported like the
 * base one (`<unet>/model.onnx` in Optimum's layout), inside the model directory.
 */
export interface PresetWeights {
  /** Directory of the distilled UNet, relative to the model directory. */
  unet: string;
  /** Where users get it, for operators reading the runner's capabilities. */
  source: string;
}

export interface PerformancePreset {
  steps: number;
  scheduler: SchedulerName;
  /** Overrides the model's spacing; absent: the model's own. */
  timestepSpacing?: TimestepSpacing;
  /** Classifier-free guidance; 1 runs the UNet once per step (the distilled presets). */
  guidance: number;
  /** Fooocus's sharpness (runner: sharpness.ts); 0 is off. */
  sharpness: number;
  /** Absent: the base model is enough. */
  weights?: PresetWeights;
  /** Credits per image. */
  credits: number;
}

export const PERFORMANCE_PRESETS: Readonly<Record<Performance, PerformancePreset>> = {
  quality: { steps: 60, scheduler: 'dpmpp-2m-sde-karras', guidance: 4, sharpness: 2, credits: 2 },
  speed: { steps: 30, scheduler: 'dpmpp-2m-sde-karras', guidance: 4, sharpness: 2, credits: 1 },
  'extreme-speed': {
    steps: 8,
    scheduler: 'lcm',
    guidance: 1,
    sharpness: 0,
    weights: {
      unet: 'unet_lcm',
      source: 'latent-consistency/lcm-sdxl (or the LCM-LoRA merged into the base UNet), exported with Optimum',
    },
    credits: 1,
  },
  lightning: {
    steps: 4,
    scheduler: 'euler',
    timestepSpacing: 'trailing',
    guidance: 1,
    sharpness: 0,
    weights: { unet: 'unet_lightning', source: 'ByteDance/SDXL-Lightning 4-step UNet, exported with Optimum' },
    credits: 1,
  },
};
