import { CODES, type ProblemCode } from '@atelier/protocol';

export interface AppErrorOptions {
  /** Whether `message` may be shown to the caller; internal errors are not. */
  expose?: boolean;
  /** Machine-readable extras, e.g. the failing field. */
  details?: Record<string, unknown>;
  /** Seconds, for `rate_limited`. */
  retryAfter?: number;
  cause?: unknown;
}

/**
 * The one error base of the server: a stable `code` from the protocol's registry, its
 * HTTP `status` (from the same registry), and `expose`.
 */
export class AppError extends Error {
  readonly code: ProblemCode;
  readonly status: number;
  readonly expose: boolean;
  readonly details: Record<string, unknown> | undefined;
  readonly retryAfter: number | undefined;

  constructor(code: ProblemCode, message: string, options: AppErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'AppError';
    this.code = code;
    this.status = CODES[code].status;
    this.expose = options.expose ?? this.status < 500;
    this.details = options.details;
    this.retryAfter = options.retryAfter;
  }
}

export const invalidRequest = (message: string, details?: Record<string, unknown>) =>
  new AppError('invalid_request', message, details ? { details } : {});
export const unauthorized = (message = 'A valid API key is required.') => new AppError('unauthorized', message);
export const notFound = (what: string) => new AppError('not_found', `${what} was not found.`);
export const conflict = (message: string) => new AppError('conflict', message);
export const unavailable = (message: string) => new AppError('unavailable', message);
