import { z } from 'zod';
import { CODES, REFUSAL_REASONS, type Code, type RefusalReason } from '../codes.js';
import { BROWSER_ID_PATTERN } from '../credentials.js';
import { BRAND_DENSITIES } from '../tenant-config.js';
import { REF_MAX_LENGTH, type ClientMessage, type ServerMessage } from '../realtime.js';
import { generationParamsSchema, idSchema, jobProgressSchema, publicImageSchema } from './generation.js';

const SESSION_TOKEN_MAX_LENGTH = 1000;
/** A shopper-session JWT is a few hundred characters; quotas and a long shopper id stay far below this. */
const SHOPPER_TOKEN_MAX_LENGTH = 4096;

export const refSchema = z
  .string()
  .min(1, 'ref must not be empty')
  .max(REF_MAX_LENGTH, `ref must be at most ${REF_MAX_LENGTH} characters`);

export const codeSchema = z.enum(Object.keys(CODES) as [Code, ...Code[]]);

/** What a widget may send. */
export const clientMessageSchema = z.discriminatedUnion(
  'type',
  [
    z
      .object({
        type: z.literal('hello'),
        v: z.number().int(),
        resume: z
          .object({ session: z.string().max(SESSION_TOKEN_MAX_LENGTH), lastSeq: z.number().int().nonnegative() })
          .strict()
          .optional(),
        shopper: z.string().min(1).max(SHOPPER_TOKEN_MAX_LENGTH).optional(),
        browser: z.string().regex(BROWSER_ID_PATTERN, 'browser must be 8-64 characters of A-Z a-z 0-9 _ -').optional(),
      })
      .strict(),
    z.object({ type: z.literal('generate'), ref: refSchema, params: generationParamsSchema }).strict(),
    z.object({ type: z.literal('cancel'), id: idSchema }).strict(),
    z
      .object({
        type: z.literal('watch'),
        id: idSchema,
        session: z.string().max(SESSION_TOKEN_MAX_LENGTH).optional(),
        ref: refSchema.optional(),
      })
      .strict(),
  ],
  { error: 'type must be one of hello, generate, cancel, watch' },
) satisfies z.ZodType<ClientMessage>;

const jobEvent = { id: z.string(), seq: z.number().int().nonnegative(), ref: refSchema.optional() };

/** What the server sends a widget (for clients that validate, and for tests). */
export const serverMessageSchema = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('welcome'),
    session: z.string(),
    resume: z.boolean(),
    config: z.object({
      tenantName: z.string(),
      defaultPerformance: z.string(),
      performances: z.array(z.string()),
      aspectRatios: z.array(z.string()),
      defaultAspectRatio: z.string(),
      maxPromptLength: z.number().int().positive(),
      styles: z.array(z.string()).optional(),
      defaultStyles: z.array(z.string()).optional(),
      maxImages: z.number().int().positive().optional(),
      maxPixels: z.number().int().positive().optional(),
      branding: z
        .object({
          colors: z.record(z.string(), z.string()),
          fontFamily: z.string().nullable(),
          radius: z.number().nonnegative().nullable(),
          density: z.enum(BRAND_DENSITIES).nullable(),
          logoUrl: z.string().nullable(),
          strings: z.record(z.string(), z.record(z.string(), z.string())),
        })
        .optional(),
    }),
  }),
  z.object({
    type: z.literal('accepted'),
    ...jobEvent,
    ref: refSchema,
    cost: z.object({ credits: z.number().int().nonnegative() }),
  }),
  z.object({
    type: z.literal('queued'),
    ...jobEvent,
    position: z.number().int().positive(),
    etaSeconds: z.number().nonnegative().nullable(),
    runners: z.number().int().nonnegative(),
  }),
  z.object({ type: z.literal('progress'), ...jobEvent, ...jobProgressSchema.shape, preview: z.string().optional() }),
  z.object({ type: z.literal('completed'), ...jobEvent, images: z.array(publicImageSchema) }),
  z.object({ type: z.literal('failed'), ...jobEvent, code: codeSchema, message: z.string() }),
  z.object({
    type: z.literal('error'),
    ref: refSchema.optional(),
    code: codeSchema,
    message: z.string(),
    retryAfter: z.number().nonnegative().optional(),
    reason: z.enum(Object.keys(REFUSAL_REASONS) as [RefusalReason, ...RefusalReason[]]).optional(),
  }),
]) satisfies z.ZodType<ServerMessage>;
