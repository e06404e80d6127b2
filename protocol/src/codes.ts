/**
 * Every failure code on every wire, in one registry: REST problem codes, the codes of
 * socket `error` and `failed` messages, and the codes a runner reports for a job.
 * Each says its HTTP status, whether trying again later can succeed (BullMQ's
 * `UnrecoverableError`, inverted), its problem+json title, and (CODE_MESSAGES) the key
 * of the message a shopper sees in the widget. A code is compared by identity, never
 * by message text.
 */
export interface CodeInfo {
  /** The HTTP status of a REST answer with this code (and the class of the failure otherwise). */
  readonly status: number;
  /** Whether the same request or job can succeed if it is simply tried again later. */
  readonly retryable: boolean;
  /** The problem+json `title`. */
  readonly title: string;
}

export const CODES = {
  // Requests: REST problem codes (CONTRACT.md) and socket `error` codes.
  invalid_request: { status: 400, retryable: false, title: 'Invalid request' },
  unauthorized: { status: 401, retryable: false, title: 'Unauthorized' },
  forbidden: { status: 403, retryable: false, title: 'Forbidden' },
  not_found: { status: 404, retryable: false, title: 'Not found' },
  conflict: { status: 409, retryable: false, title: 'Conflict' },
  payload_too_large: { status: 413, retryable: false, title: 'Payload too large' },
  unsupported_media_type: { status: 415, retryable: false, title: 'Unsupported media type' },
  range_not_satisfiable: { status: 416, retryable: false, title: 'Range not satisfiable' },
  content_policy: { status: 422, retryable: false, title: 'Content policy' },
  insufficient_credits: { status: 402, retryable: false, title: 'Insufficient credits' },
  rate_limited: { status: 429, retryable: true, title: 'Rate limited' },
  unavailable: { status: 503, retryable: true, title: 'Unavailable' },
  unsupported_version: { status: 400, retryable: false, title: 'Unsupported protocol version' },
  internal: { status: 500, retryable: true, title: 'Internal error' },

  // Jobs, decided by the server.
  canceled: { status: 409, retryable: false, title: 'Canceled' },
  expired: { status: 504, retryable: false, title: 'Not started before its deadline' },
  runner_lost: { status: 503, retryable: true, title: 'Runner stopped responding' },
  runner_disconnected: { status: 503, retryable: true, title: 'Runner disconnected' },
  incomplete_upload: { status: 502, retryable: true, title: 'Incomplete upload' },

  // Jobs, reported by a runner's pipeline.
  invalid_params: { status: 400, retryable: false, title: 'Parameters cannot be executed' },
  model_invalid: { status: 500, retryable: false, title: 'Model is not usable' },
  input_mismatch: { status: 500, retryable: false, title: 'Model input mismatch' },
  inference_failed: { status: 500, retryable: true, title: 'Inference failed' },
  encode_failed: { status: 500, retryable: true, title: 'Image encoding failed' },
} as const satisfies Record<string, CodeInfo>;

export type Code = keyof typeof CODES;

/**
 * The registry's last column: the key of the message a shopper sees for each code (the
 * widget's catalogue, widget/src/i18n/messages.ts, has one per key). A table of its
 * own because it is the one part of the registry the widget ships.
 */
export const CODE_MESSAGES = {
  invalid_request: 'errorInvalidRequest',
  unauthorized: 'errorRefused',
  forbidden: 'errorForbidden',
  not_found: 'errorNotFound',
  conflict: 'errorConflict',
  payload_too_large: 'errorInvalidRequest',
  unsupported_media_type: 'errorInvalidRequest',
  range_not_satisfiable: 'errorInvalidRequest',
  content_policy: 'errorContentPolicy',
  insufficient_credits: 'errorInsufficientCredits',
  rate_limited: 'errorRateLimited',
  unavailable: 'errorUnavailable',
  unsupported_version: 'errorOutdated',
  internal: 'errorGeneric',
  canceled: 'errorCanceled',
  expired: 'errorUnavailable',
  runner_lost: 'errorUnavailable',
  runner_disconnected: 'errorUnavailable',
  incomplete_upload: 'errorGeneric',
  invalid_params: 'errorInvalidRequest',
  model_invalid: 'errorGeneric',
  input_mismatch: 'errorGeneric',
  inference_failed: 'errorGeneric',
  encode_failed: 'errorGeneric',
} as const satisfies Record<keyof typeof CODES, string>;

/**
 * Why a refusal happened, where the shopper should read more than its code says. An
 * `insufficient_credits` is not "out of credits" when the shop's billing has paused
 * picture-making (its usage cap for the billing period is reached, or its free plan's
 * credits are used up); a `rate_limited` is not "a busy moment" when the shopper has made
 * their pictures for the day (their session's `quota.generationsPerDay`). Sent as `reason`
 * on the socket's `error` and on the REST problem; each names the widget's message key.
 * "Try again" never helps with a reason: it is not a moment that passes.
 */
export const REFUSAL_REASONS = {
  usage_cap_reached: 'errorShopPaused',
  plan_credits_used: 'errorShopPaused',
  daily_quota: 'errorDailyQuota',
} as const;
export type RefusalReason = keyof typeof REFUSAL_REASONS;

export function isRefusalReason(value: unknown): value is RefusalReason {
  return typeof value === 'string' && Object.hasOwn(REFUSAL_REASONS, value);
}

/** Every message key the registry names; the widget's catalogue must have each one. */
export type ShopperMessageKey = (typeof CODE_MESSAGES)[Code] | (typeof REFUSAL_REASONS)[RefusalReason];

/** Codes a REST call can answer with as `application/problem+json`. */
export const PROBLEM_CODES = [
  'invalid_request',
  'unauthorized',
  'forbidden',
  'not_found',
  'conflict',
  'payload_too_large',
  'unsupported_media_type',
  'range_not_satisfiable',
  'content_policy',
  'insufficient_credits',
  'rate_limited',
  'unavailable',
  'internal',
] as const satisfies readonly Code[];
export type ProblemCode = (typeof PROBLEM_CODES)[number];

/** Codes a runner may report in `failed`; the server classifies them through the registry. */
export const RUNNER_FAILURE_CODES = [
  'invalid_params',
  'model_invalid',
  'input_mismatch',
  'inference_failed',
  'encode_failed',
  'content_policy',
  'unavailable',
  'internal',
] as const satisfies readonly Code[];
export type RunnerFailureCode = (typeof RUNNER_FAILURE_CODES)[number];

export function isCode(value: unknown): value is Code {
  return typeof value === 'string' && Object.hasOwn(CODE_MESSAGES, value);
}

export function isRetryable(code: Code): boolean {
  return CODES[code].retryable;
}

/** Base of problem+json `type` URIs: `${PROBLEM_TYPE_BASE}${code}`. */
export const PROBLEM_TYPE_BASE = 'https://atelier.dev/problems/';

/** RFC 9457 problem details, as every REST error is answered. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: ProblemCode;
  /** Per-field failures of an `invalid_request`. */
  errors?: { field?: string; message: string }[];
  [extra: string]: unknown;
}
