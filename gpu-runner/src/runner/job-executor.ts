import type { ResolvedJobParams } from '@atelier/server/protocol';

export interface ExecutorProgress {
  step: number;
  steps: number;
  stage: 'loading' | 'encoding' | 'sampling' | 'decoding' | 'uploading';
}

export interface ExecutedImage {
  bytes: Uint8Array;
  width: number;
  height: number;
  format: 'png' | 'webp';
  seed: number;
}

/**
 * What the runner needs from a pipeline. The SDXL pipeline implements it; keeping the
 * runner's connection logic behind this seam means it does not care which model runs.
 */
export interface JobExecutor {
  readonly device: string;
  readonly model: string;
  readonly maxPixels: number;
  execute(
    params: ResolvedJobParams,
    options: { onProgress(progress: ExecutorProgress): void; signal: AbortSignal },
  ): Promise<ExecutedImage[]>;
}
