import { randomInt } from 'node:crypto';
import { DEFAULT_ASPECT_RATIO, parseAspectRatio, type GenerationParams, type ResolvedJobParams } from '@atelier/protocol';
import { AppError, invalidRequest } from '../errors/app-error.js';
import { PRESETS } from './presets.js';
import { applyStyles, pickStyles } from './styles.js';
import type { TenantPolicy } from './tenant-config.js';

/** Fills every default so the runner has nothing left to decide, within the tenant's plan and configuration. */
export function resolve(params: GenerationParams, { plan, config }: TenantPolicy): ResolvedJobParams {
  const mode = params.mode ?? 'txt2img';
  if (mode !== 'txt2img') throw invalidRequest(`mode "${mode}" is not available yet; use "txt2img"`);
  if (params.loras?.length) throw invalidRequest('loras are not available yet');
  const performance = params.performance ?? config.presets.default;
  if (!plan.presets.includes(performance)) {
    throw new AppError('forbidden', `The "${performance}" preset is not included in your plan.`);
  }
  if (!config.presets.allowed.includes(performance)) {
    throw new AppError('forbidden', `The "${performance}" preset is turned off in this account's configuration.`);
  }
  const imageCount = params.imageCount ?? 1;
  if (imageCount > plan.maxImagesPerRequest) {
    throw new AppError('forbidden', `Your plan allows at most ${plan.maxImagesPerRequest} image(s) per request.`);
  }
  const preset = PRESETS[performance];
  const size = parseAspectRatio(params.aspectRatio ?? DEFAULT_ASPECT_RATIO)!;
  if (size.width * size.height > plan.maxPixels) {
    throw new AppError('forbidden', `Your plan allows images of at most ${plan.maxPixels} pixels.`);
  }
  // Styles are applied here so the runner gets the final texts; a negative prompt stays
  // absent when neither the client nor a style gave one (the runner then uses zero
  // embeddings, not encoded "").
  const prompts = applyStyles(params.prompt, params.negativePrompt, pickStyles(params.styles, config));
  const sharpness = params.sharpness ?? preset.sharpness;
  return {
    ...prompts,
    width: size.width,
    height: size.height,
    steps: preset.steps,
    guidance: params.guidance ?? preset.guidance,
    scheduler: preset.scheduler,
    ...(preset.timestepSpacing && { timestepSpacing: preset.timestepSpacing }),
    ...(sharpness > 0 && { sharpness }),
    seed: params.seed ?? randomInt(0, 0xffffffff),
    imageCount,
    outputFormat: 'webp',
    performance,
  };
}
