import { z } from 'zod';
import { RUNNER_FAILURE_CODES } from '../codes.js';
import { JOB_STAGES, MODES, OUTPUT_FORMATS } from '../generation.js';
import type { ImageFrameHeader } from '../image-frame.js';
import {
  RUNNER_ASSET_KINDS,
  RUNNER_MAX_ASSET_BYTES,
  type RunnerAsset,
  type RunnerMessage,
  type ServerToRunnerMessage,
} from '../runner.js';
import { idSchema, resolvedJobParamsSchema } from './generation.js';

const lease = { jobId: idSchema, epoch: z.number().int().nonnegative() };

/** What a runner may send, as JSON text frames. */
export const runnerMessageSchema = z.discriminatedUnion('type', [
  z
    .object({
      type: z.literal('hello'),
      v: z.number().int(),
      name: z.string().max(200),
      device: z.string().max(50),
      model: z.string().max(500),
      maxPixels: z.number().int().nonnegative(),
      modes: z.array(z.enum(MODES)).max(MODES.length).optional(),
    })
    .strict(),
  z.object({ type: z.literal('ready') }).strict(),
  z.object({ type: z.literal('heartbeat'), ...lease }).strict(),
  z
    .object({
      type: z.literal('progress'),
      ...lease,
      step: z.number().int().nonnegative(),
      steps: z.number().int().positive(),
      stage: z.enum(JOB_STAGES),
      preview: z.string().max(200_000).optional(),
    })
    .strict(),
  z.object({ type: z.literal('completed'), ...lease, imageCount: z.number().int().nonnegative() }).strict(),
  z.object({ type: z.literal('failed'), ...lease, code: z.enum(RUNNER_FAILURE_CODES), message: z.string().max(2000) }).strict(),
]) satisfies z.ZodType<RunnerMessage>;

/** The header of a binary image frame (image-frame.ts). */
export const imageFrameHeaderSchema = z
  .object({
    type: z.literal('image'),
    ...lease,
    index: z.number().int().nonnegative(),
    width: z.number().int().positive(),
    height: z.number().int().positive(),
    format: z.enum(OUTPUT_FORMATS),
    seed: z.number().int().nonnegative(),
    productFidelity: z.number().int().min(0).max(255).optional(),
  })
  .strict() satisfies z.ZodType<ImageFrameHeader>;

export const runnerAssetSchema = z
  .object({
    kind: z.enum(RUNNER_ASSET_KINDS),
    id: idSchema,
    url: z.string().url().max(4000),
    sha256: z.string().regex(/^[0-9a-f]{64}$/),
    bytes: z.number().int().nonnegative().max(RUNNER_MAX_ASSET_BYTES),
  })
  .strict() satisfies z.ZodType<RunnerAsset>;

/** What the server may send a runner; the runner parses every message with it. */
export const serverToRunnerMessageSchema = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('welcome'),
    runnerId: z.string(),
    heartbeatMs: z.number().int().positive(),
    leaseMs: z.number().int().positive(),
  }),
  z.object({ type: z.literal('job'), ...lease, params: resolvedJobParamsSchema, assets: z.array(runnerAssetSchema).max(16) }),
  z.object({ type: z.literal('cancel'), ...lease }),
  z.object({ type: z.literal('lease-lost'), ...lease }),
  z.object({ type: z.literal('error'), code: z.enum(['unsupported_version', 'invalid_request']), message: z.string() }),
]) satisfies z.ZodType<ServerToRunnerMessage>;
