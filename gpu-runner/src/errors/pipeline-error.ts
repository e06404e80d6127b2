/**
 * Every error the inference core throws on purpose. Each code says once, here, whether
 * running the same job again can succeed, so the runner can report `retryable` to the
 * server without guessing (BullMQ's UnrecoverableError, inverted).
 */
export const PIPELINE_ERRORS = {
  /** The job parameters can never be executed (bad size, unknown scheduler, ...). */
  invalid_params: { retryable: false },
  /** The model directory is missing a file or is not an SDXL ONNX layout. */
  model_invalid: { retryable: false },
  /** A feed did not match a graph's declared inputs: a bug or a wrong model, not bad luck. */
  input_mismatch: { retryable: false },
  /** onnxruntime failed while running a graph (out of memory, device lost, ...). */
  inference_failed: { retryable: true },
  /** The decoded image could not be encoded to PNG/WebP. */
  encode_failed: { retryable: true },
  /** The pipeline was disposed (the runner is shutting down); another runner can take the job. */
  unavailable: { retryable: true },
  /** The caller aborted the job; whether to run it again is the caller's decision. */
  aborted: { retryable: false },
} as const;

export type PipelineErrorCode = keyof typeof PIPELINE_ERRORS;

export class PipelineError extends Error {
  readonly code: PipelineErrorCode;
  readonly retryable: boolean;

  constructor(code: PipelineErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.retryable = PIPELINE_ERRORS[code].retryable;
    // AbortController users test `err.name === 'AbortError'`, as with fetch and streams.
    this.name = code === 'aborted' ? 'AbortError' : 'PipelineError';
  }
}

export function isPipelineError(value: unknown): value is PipelineError {
  return value instanceof PipelineError;
}
