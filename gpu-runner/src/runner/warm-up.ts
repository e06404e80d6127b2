import type { ResolvedJobParams } from '@atelier/protocol';
import type { JobExecutor } from './job-executor.js';

/**
 * A one-step job at the smallest size, with guidance so that the batched UNet path runs
 * too. The first run of a session pays for kernel selection and allocation (on CUDA,
 * cuDNN's algorithm search; on WebGPU, shader compilation), which should not land on the
 * first shopper's job; so the runner warms up before it says hello.
 */
export const WARM_UP_PARAMS: ResolvedJobParams = {
  prompt: 'warm-up',
  width: 64,
  height: 64,
  steps: 1,
  guidance: 2,
  scheduler: 'euler',
  seed: 0,
  imageCount: 1,
  outputFormat: 'webp',
  performance: 'speed',
  // The output classifier runs (and warms up) but refuses nothing: a warm-up image is never sent.
  nsfwThreshold: 1,
};

/** Runs the warm-up job; resolves with how long it took, in milliseconds. */
export async function warmUp(executor: JobExecutor, signal: AbortSignal = new AbortController().signal): Promise<number> {
  const started = performance.now();
  await executor.generate(WARM_UP_PARAMS, { signal, onProgress: () => undefined });
  return performance.now() - started;
}
