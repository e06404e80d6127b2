/**
 * Generation parameters as they travel on every wire: REST bodies, the widget socket
 * and the runner socket. This module imports nothing so that the widget and the
 * runner can depend on it without pulling in the server.
 */

export const PERFORMANCES = ['quality', 'speed', 'extreme-speed', 'lightning'] as const;
export type Performance = (typeof PERFORMANCES)[number];

export const MODES = ['txt2img', 'vary-subtle', 'vary-strong', 'upscale', 'background'] as const;
export type GenerationMode = (typeof MODES)[number];

export const OUTPUT_FORMATS = ['png', 'webp'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

export const SCHEDULERS = ['euler'] as const;
export type SchedulerName = (typeof SCHEDULERS)[number];

export const PROMPT_MAX_LENGTH = 2000;

/** What a client asks for (CONTRACT.md, "Generation parameters"). */
export interface GenerationParams {
  prompt: string;
  negativePrompt?: string;
  styles?: string[];
  performance?: Performance;
  /** `"<width>x<height>"`, one of SDXL's trained resolutions. */
  aspectRatio?: string;
  imageCount?: number;
  seed?: number;
  guidance?: number;
  sharpness?: number;
  loras?: { id: string; weight: number }[];
  mode?: GenerationMode;
  inputImageId?: string;
  maskImageId?: string;
}

/** What a runner executes: every default resolved, nothing left to policy. */
export interface ResolvedJobParams {
  prompt: string;
  negativePrompt: string;
  width: number;
  height: number;
  steps: number;
  guidance: number;
  scheduler: SchedulerName;
  seed: number;
  imageCount: number;
  outputFormat: OutputFormat;
  performance: Performance;
}

export type JobStatus = 'queued' | 'running' | 'succeeded' | 'failed' | 'canceled';

/** Where a job is inside a runner; `steps` counts UNet steps. */
export const JOB_STAGES = ['queued', 'loading', 'encoding', 'sampling', 'decoding', 'uploading'] as const;
export type JobStage = (typeof JOB_STAGES)[number];

export interface JobProgress {
  step: number;
  steps: number;
  stage: JobStage;
}

export interface PublicImage {
  id: string;
  url: string;
  width: number;
  height: number;
  format: OutputFormat;
}
