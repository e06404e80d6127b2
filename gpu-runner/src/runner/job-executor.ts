import type { JobProgress, OutputFormat, ResolvedJobParams } from '@atelier/protocol';
import type { Previewer } from '../pipeline/preview.js';

export interface ExecutedImage {
  bytes: Uint8Array;
  width: number;
  height: number;
  format: OutputFormat;
  seed: number;
}

/**
 * What the runner's connection needs from a pipeline; `SdxlPipeline` satisfies it.
 * Keeping the socket logic behind this seam means it does not care which model runs.
 */
export interface JobExecutor {
  readonly device: string;
  readonly maxPixels: number;
  generate(
    params: ResolvedJobParams,
    options: { onProgress(progress: JobProgress & { preview?: string }): void; signal: AbortSignal; preview?: Previewer },
  ): Promise<ExecutedImage[]>;
}
