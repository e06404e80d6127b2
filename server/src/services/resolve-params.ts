import { randomInt } from 'node:crypto';
import { DEFAULT_ASPECT_RATIO, parseAspectRatio, type GenerationParams, type ResolvedJobParams } from '@atelier/protocol';
import { AppError, invalidRequest, notFound } from '../errors/app-error.js';
import { PRESETS } from './presets.js';
import type { TenantPolicy } from './tenant-config.js';

/** Fills every default so the runner has nothing left to decide, within the tenant's plan and configuration. */
export function resolve(
  params: GenerationParams,
  { plan, config }: TenantPolicy,
  ownedLoras: ReadonlyMap<string, unknown> = new Map(),
): ResolvedJobParams {
  const mode = params.mode ?? 'txt2img';
  if (mode !== 'txt2img') throw invalidRequest(`mode "${mode}" is not available yet; use "txt2img"`);
  if (params.styles?.length) throw invalidRequest('styles are not available yet');
  const loras = resolveLoras(params.loras, ownedLoras);
  // Accepted by the contract's schema, but no pipeline step applies it yet: refused
  // rather than silently ignored, so nobody pays for a result that lacks it.
  if (params.sharpness !== undefined) throw invalidRequest('sharpness is not available yet; leave it out');
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
  return {
    prompt: params.prompt,
    // Left out when the client gave none: the runner then uses zero embeddings, not encoded "".
    ...(params.negativePrompt !== undefined && { negativePrompt: params.negativePrompt }),
    width: size.width,
    height: size.height,
    steps: preset.steps,
    guidance: params.guidance ?? preset.guidance,
    scheduler: preset.scheduler,
    seed: params.seed ?? randomInt(0, 0xffffffff),
    imageCount,
    outputFormat: 'webp',
    performance,
    ...(loras.length > 0 && { loras }),
  };
}

/** Only the tenant's own LoRAs: another tenant's id is as unknown as one never issued. */
function resolveLoras(
  requested: GenerationParams['loras'],
  owned: ReadonlyMap<string, unknown>,
): NonNullable<ResolvedJobParams['loras']> {
  const loras = requested ?? [];
  const seen = new Set<string>();
  for (const { id } of loras) {
    if (seen.has(id)) throw invalidRequest(`LoRA "${id}" is listed twice`);
    seen.add(id);
    if (!owned.has(id)) throw notFound(`LoRA "${id}"`);
  }
  return loras.map(({ id, weight }) => ({ id, weight }));
}
