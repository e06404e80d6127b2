import { randomInt } from 'node:crypto';
import {
  DEFAULT_ASPECT_RATIO,
  RUNNER_MAX_IMAGE_PIXELS,
  parseAspectRatio,
  type GenerationParams,
  type ResolvedJobParams,
} from '@atelier/protocol';
import { AppError, invalidRequest, notFound } from '../errors/app-error.js';
import { PRESETS } from './presets.js';
import { applyStyles, pickStyles } from './styles.js';
import type { TenantPolicy } from './tenant-config.js';

/** The input images a request names (uploads or results), already looked up (not found is an error before this). */
export interface JobInputs {
  input?: { width: number; height: number };
  /** The input's id as the runner knows it: the request's, or the upload a product photo URL became. */
  inputImageId?: string;
  mask?: { width: number; height: number };
  /** The tenant's own LoRAs among those the request names (by id). */
  loras?: ReadonlyMap<string, unknown>;
}

/** Fills every default so the runner has nothing left to decide, within the tenant's plan and configuration. */
export function resolve(params: GenerationParams, { plan, config }: TenantPolicy, inputs: JobInputs = {}): ResolvedJobParams {
  const mode = params.mode ?? 'txt2img';
  const image = resolveImageInputs(params, inputs);
  const loras = resolveLoras(params.loras, inputs.loras ?? new Map());
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
  const size = image?.size ?? parseAspectRatio(params.aspectRatio ?? DEFAULT_ASPECT_RATIO)!;
  // The plan's largest picture bounds what a job makes, an upscale's output included:
  // upscaling is how a bigger picture is had.
  if (size.width * size.height > plan.maxPixels) {
    const what = image ? `${mode} of a ${image.input.width}x${image.input.height} image would be` : 'this picture is';
    throw new AppError(
      'forbidden',
      `Your plan makes pictures of at most ${plan.maxPixels} pixels; ${what} ${size.width}x${size.height}.`,
      { details: { maxPixels: plan.maxPixels } },
    );
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
    // A background keeps the product's pixels exactly, which only a lossless format can deliver.
    outputFormat: mode === 'background' ? 'png' : config.output.format,
    ...(mode !== 'background' && config.output.format !== 'png' && { outputQuality: config.output.quality }),
    performance,
    ...(mode !== 'txt2img' && { mode }),
    ...(inputs.inputImageId !== undefined && { inputImageId: inputs.inputImageId }),
    ...(params.maskImageId !== undefined && { maskImageId: params.maskImageId }),
    ...(mode === 'upscale' && { upscaleFactor: params.upscaleFactor ?? 2 }),
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

/**
 * Checks that the image fields fit the mode, and answers the output size of a mode that
 * works on an input: the input's own size (an upscale's times its factor), rounded down to
 * the VAE's multiple of 8, as Fooocus keeps the input's shape.
 */
function resolveImageInputs(params: GenerationParams, inputs: JobInputs) {
  const mode = params.mode ?? 'txt2img';
  if (mode === 'txt2img') {
    if (params.inputImageId !== undefined || params.inputImageUrl !== undefined)
      throw invalidRequest(
        `${params.inputImageId === undefined ? 'inputImageUrl' : 'inputImageId'} needs a mode that uses it (vary-subtle, vary-strong, upscale, background)`,
      );
    if (params.maskImageId !== undefined) throw invalidRequest('maskImageId is used only with mode "background"');
    if (params.upscaleFactor !== undefined) throw invalidRequest('upscaleFactor is used only with mode "upscale"');
    return undefined;
  }
  if (!inputs.input)
    throw invalidRequest(
      `mode "${mode}" needs inputImageId (an upload's id, or the id of one of your results) or inputImageUrl (a product photo)`,
    );
  if (params.maskImageId !== undefined && mode !== 'background')
    throw invalidRequest('maskImageId is used only with mode "background"');
  if (params.upscaleFactor !== undefined && mode !== 'upscale')
    throw invalidRequest('upscaleFactor is used only with mode "upscale"');
  // The output takes the input's shape; a different one would crop or stretch the product.
  if (params.aspectRatio !== undefined)
    throw invalidRequest(`aspectRatio does not apply to mode "${mode}": the output keeps the input's shape`);
  const input = inputs.input;
  if (inputs.mask && (inputs.mask.width !== input.width || inputs.mask.height !== input.height)) {
    throw invalidRequest(
      `the mask is ${inputs.mask.width}x${inputs.mask.height} but the input image is ${input.width}x${input.height}; they must match`,
    );
  }
  const factor = mode === 'upscale' ? (params.upscaleFactor ?? 2) : 1;
  const size = { width: roundDown8(input.width * factor), height: roundDown8(input.height * factor) };
  if (size.width * size.height > RUNNER_MAX_IMAGE_PIXELS) {
    throw invalidRequest(
      `${mode} of a ${input.width}x${input.height} image would be ${size.width}x${size.height}, more than the ${RUNNER_MAX_IMAGE_PIXELS} pixels a runner makes`,
    );
  }
  return { input, size };
}

function roundDown8(value: number): number {
  return Math.floor(value / 8) * 8;
}
