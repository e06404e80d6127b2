import { PipelineError } from '../errors/pipeline-error.js';

/**
 * onnxruntime reports every failure as a plain Error whose message is all there is to go
 * on, so out-of-memory is recognised by text. The patterns are the messages onnxruntime
 * and the CUDA libraries actually produce (collected from onnxruntime's issue tracker,
 * e.g. microsoft/onnxruntime#16307, #22702, #16305, #9939; the test holds the full strings).
 */
const OUT_OF_MEMORY = [
  // The CUDA (and CPU) arena: "BFCArena::AllocateRawInternal … Failed to allocate memory for requested buffer of size N".
  /Failed to allocate memory/i,
  // std::bad_alloc as MSVC ("bad allocation") and libstdc++ ("std::bad_alloc") spell it.
  /\bbad allocation\b|std::bad_alloc/i,
  // CUDA runtime / cuBLAS / cuDNN: "CUDA failure 2: out of memory", "CUBLAS_STATUS_ALLOC_FAILED".
  /\bout of memory\b|cudaErrorMemoryAllocation|CUBLAS_STATUS_ALLOC_FAILED|CUDNN_STATUS_ALLOC_FAILED/i,
  // WebGPU (Dawn): buffer creation beyond the device's memory.
  /OutOfMemory|Out of memory/,
];

export function isOutOfMemory(message: string): boolean {
  return OUT_OF_MEMORY.some((pattern) => pattern.test(message));
}

/**
 * A failure while running a graph. Out of memory is `unavailable`: retryable, since the
 * same job can fit on another runner or once this one has freed memory. Anything else
 * is `inference_failed` (also retryable: a transient device error looks the same).
 */
export function runFailure(label: string, error: unknown): PipelineError {
  const message = messageOf(error);
  return isOutOfMemory(message)
    ? new PipelineError('unavailable', `${label} ran out of memory: ${message}`, { cause: error })
    : new PipelineError('inference_failed', `${label} failed: ${message}`, { cause: error });
}

/**
 * A failure while creating a session. Running out of memory while loading a model that
 * is fine is `unavailable` (retryable); any other load failure (unparseable protobuf,
 * missing file or external data, an op the provider lacks) is `model_invalid`, which no
 * retry fixes.
 */
export function loadFailure(what: string, error: unknown): PipelineError {
  const message = messageOf(error);
  return isOutOfMemory(message)
    ? new PipelineError('unavailable', `out of memory loading ${what}: ${message}`, { cause: error })
    : new PipelineError('model_invalid', `cannot load ${what}: ${message}`, { cause: error });
}

export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
