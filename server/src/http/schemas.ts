import { z } from 'zod';
import {
  MODES,
  PERFORMANCES,
  PROMPT_MAX_LENGTH,
  SDXL_ASPECT_RATIOS,
  type GenerationParams,
} from '../protocol/index.js';
import { invalidRequest } from '../errors/app-error.js';
import { PLAN_NAMES } from '../services/plans.js';

/**
 * Every input is parsed here before it reaches a service or mongoose. Unknown fields
 * are errors (a typo in `negativePrompt` should not be silently ignored).
 */
export const generationParamsSchema = z
  .object({
    prompt: z
      .string({ error: 'prompt is required' })
      .trim()
      .min(1, 'prompt must not be empty')
      .max(PROMPT_MAX_LENGTH, `prompt must be at most ${PROMPT_MAX_LENGTH} characters`),
    negativePrompt: z.string().trim().max(PROMPT_MAX_LENGTH).optional(),
    styles: z.array(z.string().min(1).max(100)).max(8).optional(),
    performance: z.enum(PERFORMANCES).optional(),
    aspectRatio: z
      .enum(SDXL_ASPECT_RATIOS, { error: `aspectRatio must be one of SDXL's resolutions, e.g. "1024x1024"` })
      .optional(),
    imageCount: z.number().int().min(1).max(4).optional(),
    seed: z.number().int().min(0).max(0xffffffff).optional(),
    guidance: z.number().min(1).max(30).optional(),
    sharpness: z.number().min(0).max(30).optional(),
    loras: z.array(z.object({ id: z.string().min(1), weight: z.number().min(-2).max(2) }).strict()).max(5).optional(),
    mode: z.enum(MODES).optional(),
    inputImageId: z.string().min(1).max(64).optional(),
    maskImageId: z.string().min(1).max(64).optional(),
  })
  .strict() satisfies z.ZodType<GenerationParams>;

const origin = z
  .string()
  .refine((value) => {
    try {
      const url = new URL(value);
      return (url.protocol === 'https:' || url.protocol === 'http:') && url.origin === value;
    } catch {
      return false;
    }
  }, 'each origin must be scheme://host[:port] with nothing after it, e.g. https://shop.example');

export const createTenantSchema = z
  .object({
    name: z.string().trim().min(1, 'name is required').max(200),
    plan: z.enum(PLAN_NAMES as [string, ...string[]], { error: `plan must be one of ${PLAN_NAMES.join(', ')}` }),
    origins: z.array(origin).max(50).default([]),
    mode: z.enum(['live', 'test']).optional(),
  })
  .strict();

export const updateTenantSchema = z
  .object({
    name: z.string().trim().min(1).max(200).optional(),
    plan: z.enum(PLAN_NAMES as [string, ...string[]], { error: `plan must be one of ${PLAN_NAMES.join(', ')}` }).optional(),
    origins: z.array(origin).max(50).optional(),
  })
  .strict();

export const listQuerySchema = z
  .object({
    limit: z.coerce.number().int().min(1).max(100).default(20),
    cursor: z.string().max(200).optional(),
  })
  .strict();

export const idSchema = z.string().regex(/^[a-z]{3}_[A-Za-z0-9_-]{20}$/, 'not a valid id');

export const runnerTokenSchema = z.object({ name: z.string().max(200).default('') }).strict();

/** Parses or throws an `invalid_request` naming every failing field. */
export function parse<T>(schema: z.ZodType<T>, value: unknown): T {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const errors = result.error.issues.map((issue) => ({
    field: issue.path.join('.') || undefined,
    message: issue.message,
  }));
  const summary = errors.map((e) => (e.field ? `${e.field}: ${e.message}` : e.message)).join('; ');
  throw invalidRequest(summary, { errors });
}
