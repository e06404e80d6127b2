import type { ResolvedJobParams } from '@atelier/server/protocol';

/** Limits of what this pipeline will execute; the server's policy is stricter. */
export const JOB_LIMITS = {
  minSide: 64,
  maxSide: 4096,
  /** Pixels per image; 2048x2048 by default, configurable per pipeline. */
  maxPixels: 2048 * 2048,
  maxSteps: 200,
  maxImages: 8,
  maxGuidance: 50,
} as const;

/** The VAE downsamples by 8; SDXL's UNet additionally wants latents divisible by 8. */
export const LATENT_FACTOR = 8;
export const SDXL_SIZE_MULTIPLE = 64;

export type ParamsCheck = { ok: true; warnings: string[] } | { ok: false; reason: string };

/** Checks everything `generate` relies on; a failure is never worth retrying. */
export function checkJobParams(params: ResolvedJobParams, maxPixels: number = JOB_LIMITS.maxPixels): ParamsCheck {
  const fail = (reason: string): ParamsCheck => ({ ok: false, reason });
  const warnings: string[] = [];
  if (typeof params.prompt !== 'string' || typeof params.negativePrompt !== 'string') {
    return fail('prompt and negativePrompt must be strings');
  }
  for (const [name, value] of [
    ['width', params.width],
    ['height', params.height],
  ] as const) {
    if (!Number.isInteger(value)) return fail(`${name} must be an integer, got ${value}`);
    if (value % LATENT_FACTOR !== 0) return fail(`${name} must be a multiple of ${LATENT_FACTOR}, got ${value}`);
    if (value < JOB_LIMITS.minSide || value > JOB_LIMITS.maxSide) {
      return fail(`${name} must be between ${JOB_LIMITS.minSide} and ${JOB_LIMITS.maxSide}, got ${value}`);
    }
    if (value % SDXL_SIZE_MULTIPLE !== 0) {
      warnings.push(`${name} ${value} is not a multiple of ${SDXL_SIZE_MULTIPLE}; a real SDXL UNet may reject it`);
    }
  }
  if (params.width * params.height > maxPixels) {
    return fail(`${params.width}x${params.height} exceeds this runner's limit of ${maxPixels} pixels`);
  }
  if (!Number.isInteger(params.steps) || params.steps < 1 || params.steps > JOB_LIMITS.maxSteps) {
    return fail(`steps must be an integer between 1 and ${JOB_LIMITS.maxSteps}, got ${params.steps}`);
  }
  if (!Number.isInteger(params.imageCount) || params.imageCount < 1 || params.imageCount > JOB_LIMITS.maxImages) {
    return fail(`imageCount must be an integer between 1 and ${JOB_LIMITS.maxImages}, got ${params.imageCount}`);
  }
  if (!Number.isFinite(params.guidance) || params.guidance < 0 || params.guidance > JOB_LIMITS.maxGuidance) {
    return fail(`guidance must be between 0 and ${JOB_LIMITS.maxGuidance}, got ${params.guidance}`);
  }
  if (!Number.isSafeInteger(params.seed) || params.seed < 0 || !Number.isSafeInteger(params.seed + params.imageCount - 1)) {
    return fail(`seed must be a non-negative safe integer, got ${params.seed}`);
  }
  if (params.scheduler !== 'euler') return fail(`scheduler "${String(params.scheduler)}" is not supported`);
  if (params.outputFormat !== 'png' && params.outputFormat !== 'webp') {
    return fail(`outputFormat "${String(params.outputFormat)}" is not supported`);
  }
  return { ok: true, warnings };
}
