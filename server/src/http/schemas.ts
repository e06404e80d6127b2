import { z } from 'zod';
import { describeIssues } from '@atelier/protocol/schemas';
import { invalidRequest } from '../errors/app-error.js';
import { PLAN_NAMES } from '../services/plans.js';

/**
 * Inputs of the REST and admin API that are not part of the wire contract (that is
 * `@atelier/protocol/schemas`). Every input is parsed before it reaches a service or
 * mongoose, and unknown fields are errors.
 */

const origin = z.string().refine((value) => {
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

export const runnerTokenSchema = z.object({ name: z.string().max(200).default('') }).strict();

/** Parses or throws an `invalid_request` naming every failing field. */
export function parse<T>(schema: z.ZodType<T>, value: unknown): T {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const { errors, summary } = describeIssues(result.error);
  throw invalidRequest(summary, { errors });
}

/**
 * The JSON body as an object; no body at all counts as `{}`. A body that is valid JSON
 * but not an object (`"x"`, `null`, `[]`) is refused as exactly that.
 */
export function jsonObjectBody(body: unknown): unknown {
  if (body === undefined) return {};
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw invalidRequest(
      `The request body must be a JSON object (got ${body === null ? 'null' : Array.isArray(body) ? 'an array' : `a ${typeof body}`}).`,
    );
  }
  return body;
}
