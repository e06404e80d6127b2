import { CODES, type Code } from '@atelier/protocol';

/**
 * The codes the inference core throws on purpose. Whether running the same job again
 * can succeed is said once, in the protocol's code registry, so the runner and the
 * server classify a failure alike. `aborted` never leaves the runner (an aborted job
 * is not reported), so it is not a wire code; it is never worth retrying.
 */
export type PipelineErrorCode =
  | Extract<
      Code,
      | 'invalid_params'
      | 'model_invalid'
      | 'input_mismatch'
      | 'inference_failed'
      | 'encode_failed'
      | 'content_policy'
      | 'unavailable'
    >
  | 'aborted';

export class PipelineError extends Error {
  readonly code: PipelineErrorCode;
  readonly retryable: boolean;

  constructor(code: PipelineErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.retryable = code === 'aborted' ? false : CODES[code].retryable;
    // AbortController users test `err.name === 'AbortError'`, as with fetch and streams.
    this.name = code === 'aborted' ? 'AbortError' : 'PipelineError';
  }
}

export function isPipelineError(value: unknown): value is PipelineError {
  return value instanceof PipelineError;
}
