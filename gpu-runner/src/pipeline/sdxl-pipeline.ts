import { access } from 'node:fs/promises';
import { join } from 'node:path';
import type { GenerationMode, OutputFormat, Performance, ResolvedJobParams } from '@atelier/protocol';
import { PipelineError } from '../errors/pipeline-error.js';
import { moduleLogger } from '../logging/logger.js';
import { LoraSessionCache } from '../lora/lora-session-cache.js';
import { AssetLoras } from '../lora/lora-source.js';
import { MODEL_FILES, OPTIONAL_MODEL_FILES } from '../model/model-layout.js';
import type { DiffusionCore } from '../img2img/diffusion-core.js';
import { ImageModes } from '../img2img/image-modes.js';
import type { TileOptions } from '../img2img/upscale.js';
import type { LocalAsset } from '../runner/asset-cache.js';
import { OnnxSession, type Device, type ExecutionProviderPreference } from '../onnx/onnx-session.js';
import { OutputClassifier } from '../safety/output-classifier.js';
import { createScheduler } from '../schedulers/create-scheduler.js';
import { ClipTokenizer } from '../tokenizer/clip-tokenizer.js';
import { DEFAULT_UNET_BATCH_PIXELS, sampleLatents } from './batched-sampler.js';
import { LATENT_CHANNELS, UnetCall } from './unet-call.js';
import { buildConditioning, type Conditioning } from './conditioning.js';
import { imageFinisher } from './finish-image.js';
import { toRgb8 } from './image-output.js';
import { JOB_LIMITS, LATENT_FACTOR, checkJobParams } from './job-params.js';
import { readModelConfig, type SdxlModelConfig } from './model-config.js';
import { installedPerformances, presetUnetFile } from './preset-weights.js';
import { JobProgressReporter, type ProgressListener } from './job-progress.js';
import type { Previewer } from './preview.js';
import { PromptEncoder } from './prompt-encoder.js';
import { SharpnessFilter } from './sharpness.js';

const log = moduleLogger('pipeline');

export interface GeneratedImage {
  bytes: Buffer;
  width: number;
  height: number;
  format: OutputFormat;
  seed: number;
  /** Background images: the product fidelity figure (img2img/background.ts). */
  productFidelity?: number;
}

export interface SdxlPipelineOptions {
  provider?: ExecutionProviderPreference;
  /** onnxruntime intra-op threads per session; 0 (default) uses every core. */
  intraOpThreads?: number;
  /** Largest width x height this runner accepts (advertised to the server as maxPixels). */
  maxPixels?: number;
  /**
   * UNet batch budget: image pixels × batch items per call (a job's images share calls up
   * to it, split into chunks beyond it). Default `DEFAULT_UNET_BATCH_PIXELS`.
   */
  unetBatchPixels?: number;
  /** Bytes of LoRA-merged graphs kept for reuse (DEFAULT_LORA_BUDGET_BYTES by default). */
  loraBudgetBytes?: number;
  /**
   * The classifier every result must pass (safety/output-classifier.ts): a folder or
   * `.onnx` file, or `off`. Absent: the model directory's `output_classifier/` when it has
   * one, else none (main.ts refuses to start a runner that way unless told `off`).
   */
  outputClassifier?: { source: string; unsafeClasses?: readonly string[] } | 'off';
}

/** Merged LoRA graphs kept by default: a few sets for the tiny model, one UNet's worth of a real one is far more. */
export const DEFAULT_LORA_BUDGET_BYTES = 2 * 1024 ** 3;

export interface GenerateOptions {
  /** Called on every stage change and after every UNet step; `steps` spans all images of the job. */
  onProgress?: ProgressListener;
  /** Renders a preview (a data: URL on the progress report) every `preview.every` steps. */
  preview?: Previewer;
  /** Aborting stops the job between steps with an error named `AbortError`. */
  signal?: AbortSignal;
  /** The job's files (input image, mask, LoRAs), already fetched and verified by the runner. */
  assets?: readonly LocalAsset[];
  /** Upscale's latent tiles; the default suits SDXL (1024 px tiles). */
  upscaleTiles?: TileOptions;
}

/**
 * Text-to-image with an SDXL model in Hugging Face Optimum's ONNX layout, following
 * diffusers' StableDiffusionXLPipeline: both CLIP encoders, classifier-free guidance with
 * zeroed negatives for an empty negative prompt, SDXL micro-conditioning time ids, Euler
 * sampling from seeded PCG32 noise, VAE decode, PNG/WebP out. One job runs at a time per
 * pipeline; concurrent calls queue.
 */
export class SdxlPipeline {
  readonly maxPixels: number;
  private queue: Promise<unknown> = Promise.resolve();
  private disposed = false;
  /** Distilled UNets of the fast presets, opened on first use. */
  private readonly presetUnets = new Map<string, Promise<OnnxSession>>();
  private loras!: { cache: LoraSessionCache; tokenizers: [ClipTokenizer, ClipTokenizer] };

  private constructor(
    readonly modelDir: string,
    private readonly config: SdxlModelConfig,
    private readonly prompts: PromptEncoder,
    private readonly sessions: {
      textEncoder: OnnxSession;
      textEncoder2: OnnxSession;
      unet: OnnxSession;
      vaeDecoder: OnnxSession;
    },
    private readonly imageModes: ImageModes,
    private readonly classifier: OutputClassifier | undefined,
    private readonly options: SdxlPipelineOptions,
    /** The performance presets whose weights this model directory holds (advertised to the server). */
    readonly performances: readonly Performance[],
  ) {
    this.maxPixels = options.maxPixels ?? JOB_LIMITS.maxPixels;
  }

  /** The modes this model directory supports (text-to-image always; the image modes need their models). */
  get modes(): readonly GenerationMode[] {
    return ['txt2img', ...this.imageModes.modes];
  }

  /** Whether background mode paints with a 9-channel inpainting UNet (`unet_inpaint/`) rather than latent blending. */
  get inpaints(): boolean {
    return this.imageModes.inpaints;
  }

  /** Where the output classifier was loaded from; undefined: results are not screened. */
  get outputClassifier(): string | undefined {
    return this.classifier?.source;
  }

  /** Execution provider the UNet runs on: `cuda` or `cpu`. */
  get device(): Device {
    return this.sessions.unet.device;
  }

  static async load(modelDir: string, options: SdxlPipelineOptions = {}): Promise<SdxlPipeline> {
    const started = performance.now();
    const config = await readModelConfig(modelDir);
    // Fail on an unsupported scheduler config now rather than on the first job.
    createScheduler('euler', config.scheduler);
    const tokenizers = await Promise.all([
      ClipTokenizer.fromDirectory(join(modelDir, MODEL_FILES.tokenizer)),
      ClipTokenizer.fromDirectory(join(modelDir, MODEL_FILES.tokenizer2)),
    ]);
    const sessionOptions = { provider: options.provider ?? 'auto', intraOpThreads: options.intraOpThreads ?? 0 };
    const created: OnnxSession[] = [];
    let classifier: OutputClassifier | undefined;
    const open = async (relative: string, label: string) => {
      const session = await OnnxSession.create(join(modelDir, relative), { ...sessionOptions, label });
      created.push(session);
      return session;
    };
    try {
      const sessions = {
        textEncoder: await open(MODEL_FILES.textEncoder, 'text_encoder'),
        textEncoder2: await open(MODEL_FILES.textEncoder2, 'text_encoder_2'),
        unet: await open(MODEL_FILES.unet, 'unet'),
        vaeDecoder: await open(MODEL_FILES.vaeDecoder, 'vae_decoder'),
      };
      requireFloatInputs(sessions.unet, ['sample', 'timestep', 'encoder_hidden_states', 'text_embeds', 'time_ids']);
      requireFloatInputs(sessions.vaeDecoder, ['latent_sample']);
      const prompts = new PromptEncoder(tokenizers, [sessions.textEncoder, sessions.textEncoder2]);
      const imageModes = await ImageModes.load(modelDir, open);
      classifier = await loadClassifier(modelDir, options);
      const performances = await installedPerformances(modelDir);
      const pipeline = new SdxlPipeline(modelDir, config, prompts, sessions, imageModes, classifier, options, performances);
      const budgetBytes = options.loraBudgetBytes ?? DEFAULT_LORA_BUDGET_BYTES;
      pipeline.loras = { cache: new LoraSessionCache({ modelDir, budgetBytes, sessionOptions }), tokenizers };
      log.info({ modelDir, device: pipeline.device, ms: Math.round(performance.now() - started) }, 'pipeline loaded');
      return pipeline;
    } catch (error) {
      await Promise.all([...created, ...(classifier ? [classifier] : [])].map((session) => session.release()));
      throw error;
    }
  }

  /** Generates `params.imageCount` images with seeds seed, seed+1, ... */
  generate(params: ResolvedJobParams, options: GenerateOptions = {}): Promise<GeneratedImage[]> {
    const run = this.queue.then(() => this.run(params, options));
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Releases every onnxruntime session once queued jobs have finished. */
  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    await this.queue;
    await this.loras.cache.release();
    await Promise.all(Object.values(this.sessions).map((session) => session.release()));
    await this.imageModes.release();
    await this.classifier?.release();
    const presetUnets = await Promise.allSettled(this.presetUnets.values());
    await Promise.all(presetUnets.flatMap((opened) => (opened.status === 'fulfilled' ? [opened.value.release()] : [])));
  }

  private async run(
    params: ResolvedJobParams,
    { onProgress, signal, preview, assets, upscaleTiles }: GenerateOptions,
  ): Promise<GeneratedImage[]> {
    if (this.disposed) throw new PipelineError('unavailable', 'the pipeline has been disposed');
    const check = checkJobParams(params, this.maxPixels);
    if (!check.ok) throw new PipelineError('invalid_params', check.reason);
    for (const warning of check.warnings) log.warn({ width: params.width, height: params.height }, warning);

    const progress = new JobProgressReporter(params.steps * params.imageCount, {
      ...(onProgress && { onProgress }),
      ...(preview && { preview }),
      ...(signal && { signal }),
    });
    try {
      return await this.runWith(params, progress, assets ?? [], upscaleTiles);
    } finally {
      // No progress may follow the job's result.
      await progress.settle();
    }
  }

  private async runWith(
    params: ResolvedJobParams,
    progress: JobProgressReporter,
    assets: readonly LocalAsset[],
    upscaleTiles: TileOptions | undefined,
  ): Promise<GeneratedImage[]> {
    const checkAbort = () => progress.checkAbort();
    checkAbort();
    // A fast preset samples with its distilled UNet, the job's LoRAs merged into it.
    const { prompts, unet } = await this.withLoras(params, assets, await this.unetFor(params.performance));
    const finish = await imageFinisher(params, assets, this.classifier);
    if (params.mode !== undefined && params.mode !== 'txt2img') {
      return this.imageModes.run(this.core(prompts, unet), {
        params,
        assets,
        finish,
        control: {
          step: (sampled) => progress.stepped(1, sampled),
          stage: (stage) => progress.stage(stage),
          checkAbort,
        },
        onTotal: (steps) => progress.setTotal(steps),
        ...(upscaleTiles && { tiles: upscaleTiles }),
      });
    }
    await progress.stage('encoding');
    const conditioning = await buildConditioning(prompts, params, this.config.forceZerosForEmptyPrompt);
    const sharpness =
      conditioning.guided && params.sharpness ? SharpnessFilter.fromSchedulerConfig(this.config.scheduler) : undefined;

    const latentHeight = params.height / LATENT_FACTOR;
    const latentWidth = params.width / LATENT_FACTOR;
    await progress.stage('sampling');
    const samplingStarted = performance.now();
    const sampled = await sampleLatents({
      params,
      unet,
      conditioning,
      scheduler: () => this.scheduler(params),
      ...(sharpness && { sharpness }),
      batchPixels: this.options.unetBatchPixels ?? DEFAULT_UNET_BATCH_PIXELS,
      checkAbort,
      onStep: (advanced, step, denoised) =>
        progress.stepped(advanced, { step, steps: params.steps, latents: denoised, height: latentHeight, width: latentWidth }),
    });
    log.debug({ samplingMs: Math.round(performance.now() - samplingStarted) }, 'sampled');

    const images: Promise<GeneratedImage>[] = [];
    const scaling = Math.fround(this.config.vaeScalingFactor);
    for (const [index, latents] of sampled.entries()) {
      const seed = params.seed + index;
      // NaNs or a runaway std here point at fp16 overflow or a mismatched scheduler config.
      log.debug({ seed, ...moments(latents) }, 'final latents');

      checkAbort();
      await progress.stage('decoding');
      const { sample: decoded } = await this.sessions.vaeDecoder.run(
        {
          latent_sample: {
            type: 'float32',
            data: unscale(latents, scaling),
            dims: [1, LATENT_CHANNELS, latentHeight, latentWidth],
          },
        },
        ['sample'],
      );
      if (!decoded || decoded.type !== 'float32' || decoded.dims[2] !== params.height || decoded.dims[3] !== params.width) {
        throw new PipelineError(
          'model_invalid',
          `vae_decoder returned ${decoded ? `[${decoded.dims.join(',')}]` : 'nothing'} for a ${params.width}x${params.height} image`,
        );
      }
      // Screening and encoding go on (the encoder on libuv's pool) while the next image decodes.
      const image = finish(toRgb8(decoded.data, params.width, params.height), params.width, params.height).then((bytes) => {
        log.debug({ seed, bytes: bytes.length }, 'image generated');
        return { bytes, width: params.width, height: params.height, format: params.outputFormat, seed };
      });
      // Not unhandled while a later image decodes: Promise.all below reports the first failure.
      image.catch(() => undefined);
      images.push(image);
    }
    return Promise.all(images);
  }

  /** What the image modes (img2img/) use of this pipeline, with the job's LoRAs merged in. */
  private core(prompts: PromptEncoder, unet: OnnxSession): DiffusionCore {
    const calls = new WeakMap<Conditioning, UnetCall>();
    return {
      vaeScalingFactor: this.config.vaeScalingFactor,
      vaeDecoder: this.sessions.vaeDecoder,
      conditioning: (params) => buildConditioning(prompts, params, this.config.forceZerosForEmptyPrompt),
      predict: (conditioning, latents, t, height, width) => {
        // One UnetCall per conditioning and size: its text feeds are built once, not every step.
        let call = calls.get(conditioning);
        if (!call || call.height !== height || call.width !== width) {
          calls.set(conditioning, (call = new UnetCall(unet, conditioning, 1, height, width)));
        }
        return call.predict([latents], t);
      },
      scheduler: (params) => this.scheduler(params),
    };
  }

  /** The job's scheduler, from the model's scheduler config as diffusers swaps schedulers. */
  private scheduler(params: ResolvedJobParams) {
    try {
      return createScheduler(params.scheduler, this.config.scheduler, { timestepSpacing: params.timestepSpacing });
    } catch (error) {
      throw new PipelineError('invalid_params', `scheduler "${params.scheduler}": ${(error as Error).message}`, { cause: error });
    }
  }

  /**
   * The UNet a preset runs on: the base one, or the preset's distilled UNet from the model
   * directory (PERFORMANCE_PRESETS' weights), opened once and kept.
   */
  private async unetFor(performance: Performance): Promise<OnnxSession> {
    const file = presetUnetFile(performance);
    if (!file) return this.sessions.unet;
    if (!this.performances.includes(performance)) {
      throw new PipelineError(
        'invalid_params',
        `the "${performance}" preset needs ${file} in the model directory, which it lacks`,
      );
    }
    let opened = this.presetUnets.get(file);
    if (!opened) {
      const { provider = 'auto', intraOpThreads = 0 } = this.options;
      opened = OnnxSession.create(join(this.modelDir, file), { provider, intraOpThreads, label: file }).then(async (session) => {
        try {
          requireFloatInputs(session, ['sample', 'timestep', 'encoder_hidden_states', 'text_embeds', 'time_ids']);
          return session;
        } catch (error) {
          await session.release();
          throw error;
        }
      });
      this.presetUnets.set(file, opened);
      // A failed open is not cached: the next job tries again.
      opened.catch(() => this.presetUnets.delete(file));
    }
    return opened;
  }

  /**
   * The job's LoRAs merged into the text encoders and into `unet` (the base UNet or the
   * preset's distilled one), cached per set; without LoRAs, the base encoders and `unet`.
   */
  private async withLoras(
    params: ResolvedJobParams,
    assets: readonly LocalAsset[],
    unet: OnnxSession,
  ): Promise<{ prompts: PromptEncoder; unet: OnnxSession }> {
    if (!params.loras?.length) return { prompts: this.prompts, unet };
    const unetFile = presetUnetFile(params.performance) ?? MODEL_FILES.unet;
    const merged = await this.loras.cache.sessionsFor(params.loras, new AssetLoras(assets), unetFile);
    const encoders: [OnnxSession, OnnxSession] = [
      merged.text_encoder ?? this.sessions.textEncoder,
      merged.text_encoder_2 ?? this.sessions.textEncoder2,
    ];
    const prompts =
      merged.text_encoder || merged.text_encoder_2 ? new PromptEncoder(this.loras.tokenizers, encoders) : this.prompts;
    return { prompts, unet: merged.unet ?? unet };
  }
}

/** The classifier `options` name, or the model directory's own; none when neither has one. */
async function loadClassifier(modelDir: string, options: SdxlPipelineOptions): Promise<OutputClassifier | undefined> {
  const chosen = options.outputClassifier;
  if (chosen === 'off') return undefined;
  const own = join(modelDir, OPTIONAL_MODEL_FILES.outputClassifier);
  const source =
    chosen?.source ??
    (await access(own).then(
      () => own,
      () => undefined,
    ));
  if (source === undefined) return undefined;
  return OutputClassifier.load(source, {
    provider: options.provider ?? 'auto',
    intraOpThreads: options.intraOpThreads ?? 0,
    ...(chosen?.unsafeClasses && { unsafeClasses: chosen.unsafeClasses }),
  });
}

function requireFloatInputs(session: OnnxSession, names: string[]): void {
  for (const name of names) {
    const spec = session.inputs.find((input) => input.name === name);
    if (!spec || !spec.isTensor) throw new PipelineError('model_invalid', `${session.label} has no tensor input "${name}"`);
    if (spec.type !== 'float32') {
      throw new PipelineError(
        'model_invalid',
        `${session.label} input "${name}" is ${spec.type}; only float32 and float16 exports are supported`,
      );
    }
  }
}

/** diffusers divides by scaling_factor; multiplying by its float32 reciprocal differs in the last bit. */
function unscale(latents: Float32Array, scaling: number): Float32Array {
  const out = new Float32Array(latents.length);
  for (let i = 0; i < latents.length; i++) out[i] = latents[i]! / scaling;
  return out;
}

function moments(data: Float32Array): { mean: number; std: number } {
  let sum = 0;
  let squares = 0;
  for (const x of data) {
    sum += x;
    squares += x * x;
  }
  const mean = sum / data.length;
  return { mean, std: Math.sqrt(Math.max(0, squares / data.length - mean * mean)) };
}
