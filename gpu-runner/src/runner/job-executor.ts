import type { JobProgress, OutputFormat, Performance, ResolvedJobParams } from '@atelier/protocol';

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
  /** The performance presets it can run, advertised in `hello`; absent: every preset. */
  readonly performances?: readonly Performance[];
  generate(
    params: ResolvedJobParams,
    options: { onProgress(progress: JobProgress): void; signal: AbortSignal },
  ): Promise<ExecutedImage[]>;
}
