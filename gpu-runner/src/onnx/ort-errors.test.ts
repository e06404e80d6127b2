import { describe, expect, it } from 'vitest';
import { CODES } from '@atelier/protocol';
import { isOutOfMemory, loadFailure, runFailure } from './ort-errors.js';

/** Messages as onnxruntime produced them (sources in ort-errors.ts and beside each). */
const OUT_OF_MEMORY = [
  // microsoft/onnxruntime#22702 (CUDA EP, Linux)
  "[ONNXRuntimeError] : 6 : RUNTIME_EXCEPTION : Non-zero status code returned while running Conv node. Name:'/patch_embed/stages/stages.0/blocks/blocks.0/mlp/fc1/Conv' Status Message: /onnxruntime_src/onnxruntime/core/framework/bfc_arena.cc:376 void* onnxruntime::BFCArena::AllocateRawInternal(size_t, bool, onnxruntime::Stream*, bool, onnxruntime::WaitNotificationFn) Failed to allocate memory for requested buffer of size 4585490524328388608",
  // microsoft/onnxruntime#16307 (Windows)
  'Non-zero status code returned while running ReduceSum node. onnxruntime::BFCArena::AllocateRawInternal Failed to allocate memory for requested buffer of size 939524096',
  // microsoft/onnxruntime#16305 (CPU, MSVC's std::bad_alloc)
  "Non-zero status code returned while running FusedMatMul node. Name:'MatMul_With_Transpose_token_14_FusedMatMulAndScale' Status Message: bad allocation",
  // microsoft/onnxruntime#4325 (session creation)
  '[ONNXRuntimeError] : 6 : RUNTIME_EXCEPTION : Exception during initialization: bad allocation',
  // CUDA runtime errors as onnxruntime's CUDA_CALL formats them
  "Non-zero status code returned while running Conv node. Name:'Conv_0' Status Message: CUDA error cudaErrorMemoryAllocation:out of memory",
  '/onnxruntime_src/onnxruntime/core/providers/cuda/cuda_call.cc:123 CUBLAS failure 3: CUBLAS_STATUS_ALLOC_FAILED ; GPU=0',
];

const NOT_MEMORY = [
  // Produced here by onnxruntime-node 1.30 for a non-model file and a missing one.
  'Load model from /tmp/bad.onnx failed:Protobuf parsing failed.',
  "Load model from /tmp/missing.onnx failed:Load model /tmp/missing.onnx failed. File doesn't exist",
  // microsoft/onnxruntime#4008: a device error that is not memory
  'Fail: [ONNXRuntimeError] : 1 : FAIL : CUDA error executing cudaMemcpy(dst_data, src_data, bytes, cudaMemcpyDeviceToHost)',
  // onnxruntime-node 1.30 without the CUDA provider files
  'OrtSessionOptionsAppendExecutionProvider_Cuda: Failed to load shared library',
  '[ONNXRuntimeError] : 10 : INVALID_GRAPH : This is an invalid model. Type Error: Type (tensor(float16)) of input parameter (x) of operator (Add) in node () is invalid.',
];

describe('out-of-memory classification', () => {
  it.each(OUT_OF_MEMORY)('recognises %s', (message) => {
    expect(isOutOfMemory(message)).toBe(true);
  });

  it.each(NOT_MEMORY)('does not mistake %s for memory', (message) => {
    expect(isOutOfMemory(message)).toBe(false);
  });

  it('reports running out of memory as retryable unavailable, other run failures as inference_failed', () => {
    const oom = runFailure('unet', new Error(OUT_OF_MEMORY[0]));
    expect(oom).toMatchObject({ code: 'unavailable', retryable: true });
    expect(oom.message).toMatch(/^unet ran out of memory: /);
    expect(CODES[oom.code as 'unavailable'].retryable).toBe(true);
    expect(runFailure('unet', new Error(NOT_MEMORY[2]))).toMatchObject({ code: 'inference_failed', retryable: true });
  });

  it('reports a model that cannot be loaded as model_invalid, which is never retried', () => {
    expect(loadFailure('unet', new Error(NOT_MEMORY[0]))).toMatchObject({ code: 'model_invalid', retryable: false });
    expect(loadFailure('unet', new Error(NOT_MEMORY[4]))).toMatchObject({ code: 'model_invalid', retryable: false });
    expect(loadFailure('unet', new Error(OUT_OF_MEMORY[3]))).toMatchObject({ code: 'unavailable', retryable: true });
  });
});
