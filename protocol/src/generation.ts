/**
 * Generation parameters and results as they travel on every wire: REST bodies, the
 * widget socket and the runner socket.
 */

export const PERFORMANCES = ['quality', 'speed', 'extreme-speed', 'lightning'] as const;
export type Performance = (typeof PERFORMANCES)[number];

export const MODES = ['txt2img', 'vary-subtle', 'vary-strong', 'upscale', 'background'] as const;
export type GenerationMode = (typeof MODES)[number];

/** How much `upscale` enlarges the input: Fooocus's "Upscale (1.5x)" and "Upscale (2x)". */
export const UPSCALE_FACTORS = [1.5, 2] as const;
export type UpscaleFactor = (typeof UPSCALE_FACTORS)[number];

/** Formats a runner writes images in; the tenant's configuration picks one (`output.format`). */
export const OUTPUT_FORMATS = ['png', 'webp', 'jpeg', 'avif'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

export const WATERMARK_POSITIONS = ['bottom-right', 'bottom-left', 'top-right', 'top-left', 'center'] as const;
export type WatermarkPosition = (typeof WATERMARK_POSITIONS)[number];

/** The threshold a tenant's content policy starts with (`contentPolicy.nsfwThreshold`). */
export const DEFAULT_NSFW_THRESHOLD = 0.5;

export const WATERMARK_LIMITS = { textLength: 40, minOpacity: 0.05, maxOpacity: 1, minScale: 0.02, maxScale: 0.25 } as const;

/**
 * The watermark the runner draws into every image before encoding it: the tenant's logo
 * when `logoAssetId` names one (the job's `logo` asset), its text otherwise.
 */
export interface Watermark {
  text: string;
  /** The tenant's uploaded logo (an upload id), drawn instead of the text; its alpha is kept. */
  logoAssetId?: string;
  position: WatermarkPosition;
  /** 0.05–1. */
  opacity: number;
  /** The letters' (or the logo's) height as a fraction of the image's height, 0.02–0.25. */
  scale: number;
}

/**
 * What an image says about where it came from, embedded by the runner as XMP: IPTC's
 * digital source type `trainedAlgorithmicMedia`, the generator, the job and the tenant's
 * name; the prompt only when the tenant opts in (`output.embedPrompt`).
 */
export interface Provenance {
  jobId: string;
  tenantName: string;
  prompt?: string;
}

/**
 * Samplers a runner can execute, each a port of the diffusers scheduler of that name:
 * `euler` (EulerDiscreteScheduler), `euler-ancestral` (EulerAncestralDiscreteScheduler),
 * `dpmpp-2m-karras` and `dpmpp-2m-sde-karras` (DPMSolverMultistepScheduler with Karras
 * sigmas, `dpmsolver++` / `sde-dpmsolver++`; the SDE one is Fooocus's default), `lcm`
 * (LCMScheduler, for LCM-distilled weights).
 */
export const SCHEDULERS = ['euler', 'euler-ancestral', 'dpmpp-2m-karras', 'dpmpp-2m-sde-karras', 'lcm'] as const;
export type SchedulerName = (typeof SCHEDULERS)[number];

/**
 * diffusers' `timestep_spacing`: overrides the model's scheduler_config.json. Few-step
 * distilled models (SDXL-Lightning, Turbo) need `trailing`, which starts at the last
 * training timestep (ComfyUI calls the same idea "sgm_uniform").
 */
export const TIMESTEP_SPACINGS = ['leading', 'linspace', 'trailing'] as const;
export type TimestepSpacing = (typeof TIMESTEP_SPACINGS)[number];

export const PROMPT_MAX_LENGTH = 2000;
export const MAX_IMAGES_PER_REQUEST = 4;
export const MAX_LORAS_PER_REQUEST = 5;

/** What a client asks for (CONTRACT.md, "Generation parameters"). */
export interface GenerationParams {
  prompt: string;
  negativePrompt?: string;
  styles?: string[];
  performance?: Performance;
  /** `"<width>x<height>"`, one of SDXL's trained resolutions (`SDXL_ASPECT_RATIOS`). */
  aspectRatio?: string;
  imageCount?: number;
  seed?: number;
  guidance?: number;
  sharpness?: number;
  loras?: { id: string; weight: number }[];
  mode?: GenerationMode;
  inputImageId?: string;
  /**
   * Instead of `inputImageId`: the URL of a product photo on one of the tenant's own sites
   * (its allowed origins, or a host its configuration lists in `productImages.hosts`); the
   * server fetches it and uses it as an upload.
   */
  inputImageUrl?: string;
  maskImageId?: string;
  /** `upscale` only; 2 by default. */
  upscaleFactor?: UpscaleFactor;
}

/** SDXL micro-conditioning sizes, in pixels. */
export interface ImageSize {
  width: number;
  height: number;
}

/**
 * What a runner executes: every default resolved, nothing left to policy. The optional
 * fields mirror diffusers' `StableDiffusionXLPipeline` arguments and default as it does.
 */
export interface ResolvedJobParams {
  prompt: string;
  /**
   * Absent: no negative prompt, so the unconditional branch gets zero embeddings (SDXL's
   * `force_zeros_for_empty_prompt`). Present, even `""`: encoded like the prompt.
   */
  negativePrompt?: string;
  /** For the second text encoder (OpenCLIP bigG); defaults to `prompt`. */
  prompt2?: string;
  /** For the second text encoder; defaults to `negativePrompt`. */
  negativePrompt2?: string;
  width: number;
  height: number;
  steps: number;
  guidance: number;
  scheduler: SchedulerName;
  /** Overrides the model's `timestep_spacing`. */
  timestepSpacing?: TimestepSpacing;
  /** 0–1, "Common Diffusion Noise Schedules and Sample Steps are Flawed" §3.4; 0 (default) is off. */
  guidanceRescale?: number;
  /**
   * Fooocus's sharpness: how strongly the text-conditioned prediction is smoothed along
   * edges, growing over the steps (runner: sharpness.ts); 0 or absent is off.
   */
  sharpness?: number;
  /** Text-encoder layers to skip before the penultimate one SDXL uses; 0 (default) skips none. */
  clipSkip?: number;
  /** SDXL size conditioning (`original_size`, `crops_coords_top_left`, `target_size`); sizes default to the image's, the crop to 0, 0. */
  originalSize?: ImageSize;
  cropTopLeft?: { top: number; left: number };
  targetSize?: ImageSize;
  seed: number;
  imageCount: number;
  outputFormat: OutputFormat;
  /** 1–100, for the lossy formats (WebP, JPEG, AVIF); absent: the runner's default (90). */
  outputQuality?: number;
  /** Absent: no metadata (warm-up, tests that compare bytes). */
  provenance?: Provenance;
  /** Present when the tenant's configuration (or its plan) watermarks images. */
  watermark?: Watermark;
  /**
   * The tenant's content policy for results: an image the runner's output classifier
   * scores above this (0–1; 0 refuses every image) is never encoded or sent, and the job
   * fails with `content_policy`. Absent (a job from an older server): the platform's
   * default, `DEFAULT_NSFW_THRESHOLD`.
   */
  nsfwThreshold?: number;
  performance: Performance;
  /**
   * Absent: `txt2img`. Every other mode reads the job's `input` asset (the job message's
   * `assets`), `background` also its `mask` asset when there is one; `width`/`height` are
   * then the output's size.
   */
  mode?: GenerationMode;
  inputImageId?: string;
  maskImageId?: string;
  upscaleFactor?: UpscaleFactor;
  /** The tenant's LoRAs (ids the server checked belong to it), merged at `weight` into the UNet and text encoders. */
  loras?: { id: string; weight: number }[];
}

export const JOB_STATUSES = ['queued', 'running', 'succeeded', 'failed', 'canceled', 'expired'] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];

/** Where a job is inside a runner; `steps` counts UNet steps. */
export const JOB_STAGES = ['queued', 'loading', 'encoding', 'sampling', 'decoding', 'uploading'] as const;
export type JobStage = (typeof JOB_STAGES)[number];

export interface JobProgress {
  step: number;
  steps: number;
  stage: JobStage;
}

export interface QueueEstimate {
  /** 1 = next for this tenant. */
  position: number;
  /** Null while no runner is connected: nobody can honestly promise a time then. */
  etaSeconds: number | null;
  /** Runners online and able to take work; 0 means the job waits for one. */
  runners: number;
}

export interface PublicImage {
  id: string;
  url: string;
  width: number;
  height: number;
  format: OutputFormat;
  /**
   * `background` images: the largest 8-bit difference from the uploaded product inside its
   * mask, away from a thin edge band (0: the product's pixels are the original's).
   */
  productFidelity?: number;
}

/**
 * SDXL's trained resolutions (the list Fooocus offers), as `"<width>x<height>"`.
 * Anything else produces visibly worse images, so the API accepts only these.
 */
// prettier-ignore
export const SDXL_ASPECT_RATIOS = [
  '704x1408', '704x1344', '768x1344', '768x1280', '832x1216', '832x1152', '896x1152',
  '896x1088', '960x1088', '960x1024', '1024x1024', '1024x960', '1088x960', '1088x896',
  '1152x896', '1152x832', '1216x832', '1280x768', '1344x768', '1344x704', '1408x704',
  '1472x704', '1536x640', '1600x640', '1664x576', '1728x576',
] as const;
export type AspectRatio = (typeof SDXL_ASPECT_RATIOS)[number];

export const DEFAULT_ASPECT_RATIO: AspectRatio = '1024x1024';

export function parseAspectRatio(value: string): { width: number; height: number } | undefined {
  const match = /^(\d+)x(\d+)$/.exec(value);
  if (!match) return undefined;
  return { width: Number(match[1]), height: Number(match[2]) };
}
