import type { ResolvedJobParams } from '@atelier/protocol';
import type { OnnxSession } from '../onnx/onnx-session.js';
import type { Conditioning } from '../pipeline/conditioning.js';
import type { SampledStep } from '../pipeline/job-progress.js';
import type { Scheduler } from '../schedulers/scheduler.js';

/**
 * What the image modes borrow from `SdxlPipeline`: its prompt encoding, its UNet call (so
 * whatever the pipeline does there, e.g. merged LoRA weights, applies here too), its
 * scheduler choice and its VAE decoder. The modes add their own models on top.
 */
export interface DiffusionCore {
  readonly vaeScalingFactor: number;
  readonly vaeDecoder: OnnxSession;
  conditioning(params: ResolvedJobParams): Promise<Conditioning>;
  /** The UNet's predictions for every conditioning batch, concatenated ([uncond, cond] when guiding). */
  predict(conditioning: Conditioning, latents: Float32Array, t: number, height: number, width: number): Promise<Float32Array>;
  scheduler(params: ResolvedJobParams): Scheduler;
}

/** Progress and cancellation of one job, shared by the steps of every mode. */
export interface JobControl {
  /** Call after every UNet step (every tile pass counts once), with the step's estimate for a preview. */
  step(sampled?: SampledStep): void;
  /** A stage change, sent after any preview still rendering (resolves once sent). */
  stage(stage: 'encoding' | 'sampling' | 'decoding'): Promise<void>;
  /** Throws the aborted `PipelineError` once the job is cancelled. */
  checkAbort(): void;
}
