import type { ErrorRequestHandler, RequestHandler } from 'express';
import { createLogger } from '../logging/logger.js';
import { AppError } from './app-error.js';
import { CODES, PROBLEM_TYPE_BASE, type Problem } from '@atelier/protocol';

const log = createLogger('http');

export function toProblem(error: AppError): Problem {
  return {
    type: `${PROBLEM_TYPE_BASE}${error.code}`,
    title: CODES[error.code].title,
    status: error.status,
    detail: error.expose ? error.message : 'Something went wrong on our side. Please try again.',
    code: error.code,
    ...(error.expose && error.details ? error.details : {}),
  };
}

/** Turns whatever reached Express's error path into `application/problem+json`. */
export const problemHandler: ErrorRequestHandler = (error: unknown, req, res, _next) => {
  const appError = normalise(error);
  if (appError.status >= 500) log.error({ err: error, path: req.path }, 'request failed');
  if (appError.retryAfter !== undefined) res.setHeader('Retry-After', String(appError.retryAfter));
  res
    .status(appError.status)
    .type('application/problem+json')
    .send(JSON.stringify(toProblem(appError)));
};

export const notFoundHandler: RequestHandler = (req, _res, next) => {
  next(new AppError('not_found', `No route for ${req.method} ${req.path}.`));
};

function normalise(error: unknown): AppError {
  if (error instanceof AppError) return error;
  // body-parser's errors carry a status and a `type`; map the ones a client causes.
  const e = error as { status?: number; type?: string; message?: string };
  if (e?.type === 'entity.too.large') return new AppError('payload_too_large', 'The request body is too large.');
  if (e?.type === 'entity.parse.failed') return new AppError('invalid_request', 'The request body is not valid JSON.');
  if (e?.type === 'encoding.unsupported') {
    return new AppError(
      'unsupported_media_type',
      "The request body's Content-Encoding is not supported: send it uncompressed, or as gzip, deflate or br.",
    );
  }
  if (e?.type === 'charset.unsupported') {
    return new AppError('unsupported_media_type', "The request body's charset is not supported: send JSON as UTF-8.");
  }
  if (typeof e?.status === 'number' && e.status >= 400 && e.status < 500) {
    return new AppError('invalid_request', e.message ?? 'Bad request.');
  }
  return new AppError('internal', 'internal error', { cause: error, expose: false });
}
