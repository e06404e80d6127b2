import { z } from 'zod';
import {
  KEY_MAX_REQUESTS_PER_MINUTE,
  KEY_SCOPES,
  SHOPPER_ID_PATTERN,
  SHOPPER_SESSION_MAX_SECONDS,
  SHOPPER_SESSION_MIN_SECONDS,
} from '../credentials.js';

/** The longest grace a rotated key may keep working for: 7 days. */
export const ROTATION_MAX_GRACE_SECONDS = 7 * 24 * 60 * 60;

export const keyScopeSchema = z.enum(KEY_SCOPES, { error: `each scope must be one of ${KEY_SCOPES.join(', ')}` });

const expiresAt = z.iso.datetime({ offset: true, error: 'expiresAt must be an ISO 8601 date-time, e.g. 2030-01-31T00:00:00Z' });
const requestsPerMinute = z
  .number({ error: 'requestsPerMinute must be a whole number or null' })
  .int('requestsPerMinute must be a whole number')
  .min(1, 'requestsPerMinute must be at least 1')
  .max(KEY_MAX_REQUESTS_PER_MINUTE, `requestsPerMinute must be at most ${KEY_MAX_REQUESTS_PER_MINUTE}`)
  .nullable();

/**
 * `POST /v1/keys`. Scopes default to the calling key's own; a secret key can never give
 * a key more than it has (checked by the server, which knows the caller).
 */
export const createKeySchema = z
  .object({
    kind: z.enum(['secret', 'publishable'], { error: 'kind must be secret or publishable' }).default('secret'),
    label: z.string().trim().max(200, 'label must be at most 200 characters').default(''),
    scopes: z
      .array(keyScopeSchema)
      .min(1, 'scopes must name at least one scope')
      .max(KEY_SCOPES.length)
      .transform((scopes) => [...new Set(scopes)])
      .optional(),
    expiresAt: expiresAt.optional(),
    requestsPerMinute: requestsPerMinute.optional(),
  })
  .strict();
export type CreateKeyInput = z.infer<typeof createKeySchema>;

/** `POST /v1/keys/:id/rotate`: how long the old key keeps working (0 = stops now). */
export const rotateKeySchema = z
  .object({
    graceSeconds: z
      .number({ error: (issue) => (issue.input === undefined ? 'graceSeconds is required' : 'graceSeconds must be a number') })
      .int('graceSeconds must be a whole number')
      .min(0, 'graceSeconds must be at least 0')
      .max(ROTATION_MAX_GRACE_SECONDS, `graceSeconds must be at most ${ROTATION_MAX_GRACE_SECONDS} (7 days)`),
    expiresAt: expiresAt.optional(),
  })
  .strict();
export type RotateKeyInput = z.infer<typeof rotateKeySchema>;

/** `POST /v1/sessions`: a shopper session for the widget. */
export const createShopperSessionSchema = z
  .object({
    shopperId: z
      .string({ error: 'shopperId must be a string' })
      .regex(SHOPPER_ID_PATTERN, 'shopperId must be 1-128 characters of letters, digits and . _ : @ | + -')
      .optional(),
    expiresInSeconds: z
      .number({ error: 'expiresInSeconds must be a number' })
      .int('expiresInSeconds must be a whole number')
      .min(SHOPPER_SESSION_MIN_SECONDS, `expiresInSeconds must be at least ${SHOPPER_SESSION_MIN_SECONDS}`)
      .max(SHOPPER_SESSION_MAX_SECONDS, `expiresInSeconds must be at most ${SHOPPER_SESSION_MAX_SECONDS} (24 hours)`)
      .optional(),
    quota: z
      .object({
        generationsPerDay: z
          .number({ error: 'quota.generationsPerDay must be a number' })
          .int('quota.generationsPerDay must be a whole number')
          .min(0, 'quota.generationsPerDay must be at least 0')
          .max(100_000, 'quota.generationsPerDay must be at most 100000')
          .optional(),
      })
      .strict()
      .optional(),
  })
  .strict();
export type CreateShopperSessionInput = z.infer<typeof createShopperSessionSchema>;
