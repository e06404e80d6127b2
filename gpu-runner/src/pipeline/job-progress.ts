import type { JobProgress, JobStage } from '@atelier/protocol';
import { PipelineError } from '../errors/pipeline-error.js';
import { moduleLogger } from '../logging/logger.js';
import { previewDue, type Previewer } from './preview.js';

const log = moduleLogger('pipeline');

export type ProgressListener = (progress: JobProgress & { preview?: string }) => void;

/** What a sampling loop knows after a step, for a preview: the step of each image (from 1), of how many, and its estimates. */
export interface SampledStep {
  step: number;
  steps: number;
  /** The denoised estimate of each image sampled together, [4, height, width] each; never written to afterwards. */
  latents: readonly Float32Array[];
  height: number;
  width: number;
}

/**
 * One job's progress, the one path every mode reports through: the step count over all
 * of its images, stage changes, cancellation, and the previews. A preview is rendered off
 * the step path: its encoding runs on libuv's pool while the next UNet step runs, and it
 * goes out with the job's progress at the moment it is ready. Previews go out in order,
 * before the next stage change, and `settle` waits for the ones still rendering, so none
 * follows the job's result.
 */
export class JobProgressReporter {
  private done = 0;
  private previews: Promise<void> = Promise.resolve();
  private stageNow: JobStage = 'encoding';

  constructor(
    private total: number,
    private readonly options: { onProgress?: ProgressListener; preview?: Previewer; signal?: AbortSignal },
  ) {}

  /** The job's total steps, once a mode knows them (they depend on its denoise). */
  setTotal(steps: number): void {
    this.total = steps;
  }

  /** A stage change; previews still rendering go out first, so none arrives after the sampling it shows. */
  async stage(stage: JobStage): Promise<void> {
    await this.previews;
    this.stageNow = stage;
    this.send();
  }

  /** After a UNet step that advanced `images` images; `sampled` offers its estimates for a preview. */
  stepped(images: number, sampled?: SampledStep): void {
    this.done += images;
    this.stageNow = 'sampling';
    this.send();
    const { preview } = this.options;
    if (preview && sampled && previewDue(preview.every, sampled.step, sampled.steps)) this.startPreview(preview, sampled);
  }

  /** Throws the aborted `PipelineError` once the job's signal has fired. */
  checkAbort(): void {
    const { signal } = this.options;
    if (signal?.aborted) {
      throw new PipelineError('aborted', `generation aborted after ${this.done} of ${this.total} steps`, {
        cause: signal.reason,
      });
    }
  }

  /** Resolves once every preview started so far has been sent (or has failed). */
  settle(): Promise<void> {
    return this.previews;
  }

  private startPreview(preview: Previewer, sampled: SampledStep): void {
    // A failed preview costs the job nothing but the preview.
    const rendering = (async () => preview.render(sampled.latents, sampled.height, sampled.width))().catch((error: unknown) => {
      log.warn({ err: error }, 'preview failed; continuing without it');
      return undefined;
    });
    this.previews = Promise.all([rendering, this.previews]).then(([url]) => {
      // A job cancelled meanwhile reports nothing more.
      if (url && !this.options.signal?.aborted) this.send(url);
    });
  }

  private send(preview?: string): void {
    try {
      this.options.onProgress?.({
        step: this.done,
        steps: this.total,
        stage: this.stageNow,
        ...(preview ? { preview } : {}),
      });
    } catch (error) {
      log.warn({ err: error }, 'progress callback threw; continuing');
    }
  }
}
