/**
 * Every error code the API can return (CONTRACT.md), with its HTTP status and the
 * problem+json `title`. One registry, so a code means the same thing everywhere.
 */
export const ERROR_CODES = {
  invalid_request: { status: 400, title: 'Invalid request' },
  unauthorized: { status: 401, title: 'Unauthorized' },
  forbidden: { status: 403, title: 'Forbidden' },
  not_found: { status: 404, title: 'Not found' },
  conflict: { status: 409, title: 'Conflict' },
  payload_too_large: { status: 413, title: 'Payload too large' },
  content_policy: { status: 422, title: 'Content policy' },
  insufficient_credits: { status: 402, title: 'Insufficient credits' },
  rate_limited: { status: 429, title: 'Rate limited' },
  unavailable: { status: 503, title: 'Unavailable' },
  internal: { status: 500, title: 'Internal error' },
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export const PROBLEM_TYPE_BASE = 'https://atelier.dev/problems/';
