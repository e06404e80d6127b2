import { RUNNER_MAX_IMAGE_PIXELS, type ResolvedJobParams } from '@atelier/protocol';
import { describeIssues, resolvedJobParamsSchema } from '@atelier/protocol/schemas';

/** Limits of what this pipeline will execute, beyond the wire contract's own. */
export const JOB_LIMITS = {
  minSide: 64,
  maxSide: 4096,
  /** Pixels per image, by default the most a server may ask a runner for. */
  maxPixels: RUNNER_MAX_IMAGE_PIXELS,
} as const;

/** The VAE downsamples by 8; SDXL's UNet additionally wants latents divisible by 8. */
export const LATENT_FACTOR = 8;
export const SDXL_SIZE_MULTIPLE = 64;

export type ParamsCheck = { ok: true; params: ResolvedJobParams; warnings: string[] } | { ok: false; reason: string };

/**
 * Checks a job against the wire schema and against what this pipeline can execute;
 * a failure is never worth retrying. The pipeline is also a library, so it checks
 * whatever it is handed, not only what arrived over the socket.
 */
export function checkJobParams(input: unknown, maxPixels: number = JOB_LIMITS.maxPixels): ParamsCheck {
  const parsed = resolvedJobParamsSchema.safeParse(input);
  if (!parsed.success) return { ok: false, reason: describeIssues(parsed.error).summary };
  const params = parsed.data;
  const warnings: string[] = [];
  for (const [name, value] of [
    ['width', params.width],
    ['height', params.height],
  ] as const) {
    if (value % LATENT_FACTOR !== 0) return { ok: false, reason: `${name} must be a multiple of ${LATENT_FACTOR}, got ${value}` };
    if (value < JOB_LIMITS.minSide || value > JOB_LIMITS.maxSide) {
      return { ok: false, reason: `${name} must be between ${JOB_LIMITS.minSide} and ${JOB_LIMITS.maxSide}, got ${value}` };
    }
    if (value % SDXL_SIZE_MULTIPLE !== 0) {
      warnings.push(`${name} ${value} is not a multiple of ${SDXL_SIZE_MULTIPLE}; a real SDXL UNet may reject it`);
    }
  }
  if (params.width * params.height > maxPixels) {
    return { ok: false, reason: `${params.width}x${params.height} exceeds this runner's limit of ${maxPixels} pixels` };
  }
  return { ok: true, params, warnings };
}
