import type { GenerationMode, JobProgress, OutputFormat, ResolvedJobParams } from '@atelier/protocol';
import type { LocalAsset } from './asset-cache.js';

export interface ExecutedImage {
  bytes: Uint8Array;
  width: number;
  height: number;
  format: OutputFormat;
  seed: number;
  /** Background mode: the product fidelity figure (see `ImageFrameHeader.productFidelity`). */
  productFidelity?: number;
}

/**
 * What the runner's connection needs from a pipeline; `SdxlPipeline` satisfies it.
 * Keeping the socket logic behind this seam means it does not care which model runs.
 */
export interface JobExecutor {
  readonly device: string;
  readonly maxPixels: number;
  /** Reported in `hello`; the server offers only jobs of these modes. */
  readonly modes: readonly GenerationMode[];
  generate(
    params: ResolvedJobParams,
    options: {
      onProgress(progress: JobProgress): void;
      signal: AbortSignal;
      /** The job's files (input image, mask, LoRAs), fetched and verified. */
      assets?: readonly LocalAsset[];
    },
  ): Promise<ExecutedImage[]>;
}
