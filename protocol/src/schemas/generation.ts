import { z } from 'zod';
import {
  JOB_STAGES,
  MAX_IMAGES_PER_REQUEST,
  MAX_LORAS_PER_REQUEST,
  MODES,
  OUTPUT_FORMATS,
  PERFORMANCES,
  PROMPT_MAX_LENGTH,
  SCHEDULERS,
  SDXL_ASPECT_RATIOS,
  TIMESTEP_SPACINGS,
  UPSCALE_FACTORS,
  WATERMARK_LIMITS,
  WATERMARK_POSITIONS,
  type GenerationParams,
  type JobProgress,
  type PublicImage,
  type ResolvedJobParams,
} from '../generation.js';
import { ID_PATTERN } from '../credentials.js';

/** A string field whose error says whether it was missing or of the wrong type. */
export function text(field: string) {
  return z.string({
    error: (issue) => (issue.input === undefined ? `${field} is required` : `${field} must be a string`),
  });
}

export const idSchema = z.string().regex(ID_PATTERN, 'not a valid id');

const seed = z.number().int().min(0).max(0xffffffff);

const { textLength, minOpacity, maxOpacity, minScale, maxScale } = WATERMARK_LIMITS;
/** A watermark's look; the tenant's configuration holds one (`output.watermarkStyle`, its text optional). */
export const watermarkFields = {
  position: z.enum(WATERMARK_POSITIONS, { error: `must be one of ${WATERMARK_POSITIONS.join(', ')}` }),
  opacity: z
    .number({ error: `must be a number from ${minOpacity} to ${maxOpacity}` })
    .min(minOpacity, `must be a number from ${minOpacity} to ${maxOpacity}`)
    .max(maxOpacity, `must be a number from ${minOpacity} to ${maxOpacity}`),
  scale: z
    .number({ error: `must be a number from ${minScale} to ${maxScale}` })
    .min(minScale, `must be a number from ${minScale} to ${maxScale}`)
    .max(maxScale, `must be a number from ${minScale} to ${maxScale}`),
};
export const watermarkText = z
  .string({ error: 'must be a string' })
  .trim()
  .min(1, 'must not be empty')
  .max(textLength, `must be at most ${textLength} characters`);
const watermarkSchema = z.strictObject({ text: watermarkText, logoAssetId: idSchema.optional(), ...watermarkFields });
/** Micro-conditioning sizes: what SDXL was trained with spans a few hundred to a few thousand pixels. */
const conditioningSize = z
  .object({ width: z.number().int().min(1).max(16384), height: z.number().int().min(1).max(16384) })
  .strict();

/**
 * A request's parameters (CONTRACT.md). Unknown fields are errors: a typo in
 * `negativePrompt` must not be silently ignored.
 */
/** LoRAs by id (the tenant's own) and the weight each is merged at. */
const loraList = z
  .array(z.object({ id: z.string().min(1).max(100), weight: z.number().min(-2).max(2) }).strict())
  .max(MAX_LORAS_PER_REQUEST);

export const generationParamsSchema = z
  .object({
    prompt: text('prompt')
      .trim()
      .min(1, 'prompt must not be empty')
      .max(PROMPT_MAX_LENGTH, `prompt must be at most ${PROMPT_MAX_LENGTH} characters`),
    negativePrompt: text('negativePrompt')
      .trim()
      .max(PROMPT_MAX_LENGTH, `negativePrompt must be at most ${PROMPT_MAX_LENGTH} characters`)
      .optional(),
    styles: z.array(z.string().min(1).max(100)).max(8).optional(),
    performance: z.enum(PERFORMANCES, { error: `performance must be one of ${PERFORMANCES.join(', ')}` }).optional(),
    aspectRatio: z
      .enum(SDXL_ASPECT_RATIOS, { error: `aspectRatio must be one of SDXL's resolutions: ${SDXL_ASPECT_RATIOS.join(', ')}` })
      .optional(),
    imageCount: z.number().int().min(1).max(MAX_IMAGES_PER_REQUEST).optional(),
    seed: seed.optional(),
    guidance: z.number().min(1).max(30).optional(),
    sharpness: z.number().min(0).max(30).optional(),
    loras: loraList.optional(),
    mode: z.enum(MODES, { error: `mode must be one of ${MODES.join(', ')}` }).optional(),
    inputImageId: idSchema.optional(),
    inputImageUrl: z
      .url({ protocol: /^https?$/, error: 'inputImageUrl must be an http or https URL' })
      .max(2048, 'inputImageUrl must be at most 2048 characters')
      .optional(),
    maskImageId: idSchema.optional(),
    upscaleFactor: z
      .union(
        UPSCALE_FACTORS.map((factor) => z.literal(factor)),
        { error: `upscaleFactor must be one of ${UPSCALE_FACTORS.join(', ')}` },
      )
      .optional(),
  })
  .strict() satisfies z.ZodType<GenerationParams>;

/** What the server hands a runner; the runner checks it again before executing. */
export const resolvedJobParamsSchema = z
  .object({
    prompt: z.string().max(PROMPT_MAX_LENGTH),
    negativePrompt: z.string().max(PROMPT_MAX_LENGTH).optional(),
    prompt2: z.string().max(PROMPT_MAX_LENGTH).optional(),
    negativePrompt2: z.string().max(PROMPT_MAX_LENGTH).optional(),
    width: z.number().int().positive(),
    height: z.number().int().positive(),
    steps: z.number().int().min(1).max(200),
    guidance: z.number().min(0).max(50),
    scheduler: z.enum(SCHEDULERS),
    timestepSpacing: z.enum(TIMESTEP_SPACINGS).optional(),
    guidanceRescale: z.number().min(0).max(1).optional(),
    clipSkip: z.number().int().min(0).max(24).optional(),
    sharpness: z.number().min(0).max(30).optional(),
    originalSize: conditioningSize.optional(),
    cropTopLeft: z
      .object({ top: z.number().int().min(0).max(16384), left: z.number().int().min(0).max(16384) })
      .strict()
      .optional(),
    targetSize: conditioningSize.optional(),
    seed,
    imageCount: z.number().int().min(1).max(MAX_IMAGES_PER_REQUEST),
    outputFormat: z.enum(OUTPUT_FORMATS),
    outputQuality: z.number().int().min(1).max(100).optional(),
    provenance: z
      .object({ jobId: idSchema, tenantName: z.string().max(200), prompt: z.string().max(10_000).optional() })
      .strict()
      .optional(),
    watermark: watermarkSchema.optional(),
    nsfwThreshold: z.number().min(0).max(1).optional(),
    performance: z.enum(PERFORMANCES),
    mode: z.enum(MODES).optional(),
    inputImageId: idSchema.optional(),
    maskImageId: idSchema.optional(),
    upscaleFactor: z.union(UPSCALE_FACTORS.map((factor) => z.literal(factor))).optional(),
    loras: loraList.optional(),
  })
  .strict() satisfies z.ZodType<ResolvedJobParams>;

export const jobProgressSchema = z.object({
  step: z.number().int().nonnegative(),
  steps: z.number().int().positive(),
  stage: z.enum(JOB_STAGES),
}) satisfies z.ZodType<JobProgress>;

export const publicImageSchema = z.object({
  id: z.string(),
  url: z.string(),
  width: z.number().int().positive(),
  height: z.number().int().positive(),
  format: z.enum(OUTPUT_FORMATS),
  productFidelity: z.number().int().min(0).max(255).optional(),
}) satisfies z.ZodType<PublicImage>;
