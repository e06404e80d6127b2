import { z } from 'zod';
import {
  AUDIT_ACTIONS,
  PLATFORM_AUDIT_ACTIONS,
  MAX_IMAGES_PER_REQUEST,
  PERFORMANCES,
  PLAN_NAMES,
  type PlanName,
} from '@atelier/protocol';
import { describeIssues } from '@atelier/protocol/schemas';
import { invalidRequest } from '../errors/app-error.js';
import { canonicalPlanName, PLAN_ALIASES } from '../services/plans.js';
import { exactOrigin } from './origins.js';

/**
 * Inputs of the REST and admin API that are not part of the wire contract (that is
 * `@atelier/protocol/schemas`). Every input is parsed before it reaches a service or
 * mongoose, and unknown fields are errors.
 */

const origin = z
  .string()
  .refine(
    (value) => exactOrigin(value) !== undefined,
    'each origin must be scheme://host[:port] with nothing after it, e.g. https://shop.example',
  );

const planMessage = `plan must be one of ${PLAN_NAMES.join(', ')} (${Object.entries(PLAN_ALIASES)
  .map(([alias, name]) => `${alias} is read as ${name}`)
  .join('; ')})`;

/** A plan name; a former name (PLAN_ALIASES) is read as the plan it became. */
export const planNameSchema = z.string({ error: planMessage }).transform((name, ctx): PlanName => {
  const plan = canonicalPlanName(name);
  if (plan) return plan;
  ctx.addIssue({ code: 'custom', message: planMessage });
  return z.NEVER;
});

export const createTenantSchema = z
  .object({
    name: z.string().trim().min(1, 'name is required').max(200),
    plan: planNameSchema,
    origins: z.array(origin).max(50).default([]),
    mode: z.enum(['live', 'test']).optional(),
  })
  .strict();

export const updateTenantSchema = z
  .object({
    name: z.string().trim().min(1).max(200).optional(),
    plan: planNameSchema.optional(),
    origins: z.array(origin).max(50).optional(),
    status: z.enum(['active', 'suspended'], { error: 'status must be active or suspended (DELETE deletes)' }).optional(),
  })
  .strict();

export const tenantListQuerySchema = z
  .object({
    status: z.enum(['active', 'suspended', 'deleted'], { error: 'status must be active, suspended or deleted' }).optional(),
  })
  .strict();

const count = (field: string, min: number, max: number) =>
  z
    .number({ error: `${field} must be a whole number` })
    .int(`${field} must be a whole number`)
    .min(min, `${field} must be at least ${min}`)
    .max(max, `${field} must be at most ${max}`);

/** `PUT /admin/v1/plans/:name`: the limits to change; those left out keep their values. */
export const planChangesSchema = z
  .object({
    monthlyCredits: count('monthlyCredits', 0, 1_000_000_000).optional(),
    presets: z
      .array(z.enum(PERFORMANCES, { error: `each preset must be one of ${PERFORMANCES.join(', ')}` }))
      .min(1, 'presets must name at least one preset')
      .refine((list) => new Set(list).size === list.length, 'presets must not repeat a preset')
      .optional(),
    requestsPerMinute: count('requestsPerMinute', 1, 1_000_000).optional(),
    concurrentJobs: count('concurrentJobs', 1, 10_000).optional(),
    maxImagesPerRequest: count('maxImagesPerRequest', 1, MAX_IMAGES_PER_REQUEST).optional(),
    maxPixels: count('maxPixels', 1, 64 * 1024 * 1024).optional(),
    forcedWatermark: z.boolean({ error: 'forcedWatermark must be true or false' }).optional(),
    queuePriority: count('queuePriority', 1, 1000).optional(),
  })
  .strict()
  .refine((changes) => Object.keys(changes).length > 0, 'name at least one limit to change');

/** `POST /admin/v1/tenants/:id/credits` (CONTRACT.md). */
export const creditGrantSchema = z
  .object({
    amount: count('amount', 1, 1_000_000_000),
    reason: z
      .string({ error: 'reason is required' })
      .trim()
      .min(1, 'reason is required')
      .max(500, 'reason must be at most 500 characters'),
  })
  .strict();

export const creditEntriesQuerySchema = z
  .object({
    limit: z.coerce.number().int().min(1).max(100).default(20),
    cursor: z
      .string()
      .regex(/^[1-9][0-9]{0,15}$/, 'cursor must be the nextCursor of the previous page')
      .transform(Number)
      .optional(),
  })
  .strict();

const day = (field: string) =>
  z
    .string()
    .regex(/^\d{4}-\d{2}-\d{2}$/, `${field} must be a date, YYYY-MM-DD`)
    .refine((value) => {
      const date = new Date(`${value}T00:00:00Z`);
      return !Number.isNaN(date.getTime()) && date.toISOString().startsWith(value);
    }, `${field} must be a real date`);

const MAX_USAGE_DAYS = 366;

/** `GET /v1/usage`: UTC days, both ends included; by default the 30 days up to today. */
export const usageQuerySchema = z
  .object({ from: day('from').optional(), to: day('to').optional() })
  .strict()
  .transform(({ from, to }) => {
    const end = to ?? new Date().toISOString().slice(0, 10);
    const start = from ?? new Date(Date.parse(`${end}T00:00:00Z`) - 29 * 86_400_000).toISOString().slice(0, 10);
    return { from: start, to: end };
  })
  .refine(({ from, to }) => from <= to, 'from must not be after to')
  .refine(
    ({ from, to }) => (Date.parse(to) - Date.parse(from)) / 86_400_000 < MAX_USAGE_DAYS,
    `a usage range may span at most ${MAX_USAGE_DAYS} days`,
  );

export const listQuerySchema = z
  .object({
    limit: z.coerce.number().int().min(1).max(100).default(20),
    cursor: z.string().max(200).optional(),
  })
  .strict();

/** `GET /v1/audit-events` and the operator's view of a tenant's log: a page, of one action if asked. */
/** A page of an audit log, optionally of one action: the tenant's log and the platform's read alike. */
function auditQuery<const Actions extends readonly [string, ...string[]]>(actions: Actions) {
  return listQuerySchema.extend({
    action: z
      .enum(actions, {
        error: (issue) =>
          `action ${JSON.stringify(issue.input).slice(0, 80)} is not an audit action; one of ${actions.join(', ')}`,
      })
      .optional(),
  });
}

export const auditQuerySchema = auditQuery(AUDIT_ACTIONS);
export const platformAuditQuerySchema = auditQuery(PLATFORM_AUDIT_ACTIONS);

export const runnerTokenSchema = z.object({ name: z.string().max(200).default('') }).strict();

/** Parses or throws an `invalid_request` naming every failing field. */
export function parse<T>(schema: z.ZodType<T>, value: unknown): T {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const { errors, summary } = describeIssues(result.error);
  throw invalidRequest(summary, { errors });
}

const nothing = z.object({}).strict();

/** For a route that reads no query string: every parameter sent is an unknown field. */
export function noQuery(query: unknown): void {
  parse(nothing, query);
}

/** For a route that reads no body: an empty object (or none) only; every member is an unknown field. */
export function noBody(body: unknown): void {
  parse(nothing, jsonObjectBody(body));
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
