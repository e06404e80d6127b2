import { access } from 'node:fs/promises';
import { join } from 'node:path';
import type { GenerationMode, ResolvedJobParams } from '@atelier/protocol';
import { PipelineError } from '../errors/pipeline-error.js';
import { moduleLogger } from '../logging/logger.js';
import { OPTIONAL_MODEL_FILES } from '../model/model-layout.js';
import type { OnnxSession } from '../onnx/onnx-session.js';
import type { FinishImage } from '../pipeline/finish-image.js';
import type { LocalAsset } from '../runner/asset-cache.js';
import { INPAINT_CHANNELS, background, productFidelity, productMask } from './background.js';
import type { DiffusionCore, JobControl } from './diffusion-core.js';
import { crop, decodeRgb, readRgba } from './image-io.js';
import { img2imgSteps } from './img2img-sampler.js';
import { DEFAULT_TILES, UPSCALE_DENOISE, upscale, type TileOptions } from './upscale.js';
import { VARY_DENOISE, vary } from './vary.js';

const log = moduleLogger('image-modes');

export interface ImageModeResult {
  bytes: Buffer;
  width: number;
  height: number;
  format: ResolvedJobParams['outputFormat'];
  seed: number;
  productFidelity?: number;
}

export interface ImageModeRun {
  params: ResolvedJobParams;
  assets: readonly LocalAsset[];
  control: JobControl;
  /** Screens, watermarks and encodes each result (pipeline/finish-image.ts). */
  finish: FinishImage;
  /** Reports the job's total steps once known (they depend on the mode's denoise). */
  onTotal(steps: number): void;
  /** Tests shrink the tiles to see them meet on a small image. */
  tiles?: TileOptions;
}

/**
 * The generation modes that start from an image (vary, upscale, background) and the
 * optional models they need from the model directory (model-layout.ts). Which of them a
 * directory supports is what the runner advertises.
 */
/** A type, not an interface: `Object.values` sees a type literal's values as sessions. */
type ImageModeSessions = {
  encoder?: OnnxSession;
  upscaler?: OnnxSession;
  segmenter?: OnnxSession;
  inpaint?: OnnxSession;
};

export class ImageModes {
  private constructor(private readonly sessions: ImageModeSessions) {}

  /** Opens whichever optional models `modelDir` has, with the pipeline's session opener. */
  static async load(modelDir: string, open: (relative: string, label: string) => Promise<OnnxSession>): Promise<ImageModes> {
    const present = async (relative: string) =>
      access(join(modelDir, relative)).then(
        () => true,
        () => false,
      );
    const sessions: ImageModeSessions = {};
    if (await present(OPTIONAL_MODEL_FILES.vaeEncoder))
      sessions.encoder = await open(OPTIONAL_MODEL_FILES.vaeEncoder, 'vae_encoder');
    if (await present(OPTIONAL_MODEL_FILES.upscaler)) sessions.upscaler = await open(OPTIONAL_MODEL_FILES.upscaler, 'upscaler');
    if (await present(OPTIONAL_MODEL_FILES.segmenter))
      sessions.segmenter = await open(OPTIONAL_MODEL_FILES.segmenter, 'segmenter');
    if (await present(OPTIONAL_MODEL_FILES.inpaintUnet)) {
      sessions.inpaint = await open(OPTIONAL_MODEL_FILES.inpaintUnet, 'unet_inpaint');
      requireInpaintUnet(sessions.inpaint);
    }
    return new ImageModes(sessions);
  }

  /** Every mode the loaded models allow (background without a segmenter still takes cut-outs and masks). */
  get modes(): GenerationMode[] {
    const { encoder, upscaler } = this.sessions;
    if (!encoder) return [];
    return ['vary-subtle', 'vary-strong', ...(upscaler ? (['upscale'] as const) : []), 'background'];
  }

  async run(core: DiffusionCore, run: ImageModeRun): Promise<ImageModeResult[]> {
    const { params, control } = run;
    const mode = params.mode!;
    const { encoder, upscaler, segmenter } = this.sessions;
    // LoRAs are merged into the base UNet only: a job with LoRAs blends latents with it.
    const inpaint = params.loras?.length ? undefined : this.sessions.inpaint;
    if (!encoder || !this.modes.includes(mode)) {
      throw new PipelineError('invalid_params', `mode "${mode}" needs models this runner's model directory lacks`);
    }
    const denoise =
      mode === 'upscale' ? UPSCALE_DENOISE : mode === 'background' ? 1 : VARY_DENOISE[mode as keyof typeof VARY_DENOISE];
    run.onTotal(img2imgSteps(params.steps, denoise).count * params.imageCount);

    const inputFile = run.assets.find((asset) => asset.kind === 'input');
    if (!inputFile) throw new PipelineError('invalid_params', `mode "${mode}" needs an input asset and the job has none`);
    const maskFile = run.assets.find((asset) => asset.kind === 'mask');
    await control.stage('encoding');
    const { pixels: original, hasAlpha } = await readRgba(inputFile.path);
    const input = mode === 'upscale' ? original : crop(original, params.width, params.height);
    if (mode === 'upscale' && (params.width < original.width || params.height < original.height)) {
      throw new PipelineError('invalid_params', `an upscale to ${params.width}x${params.height} is smaller than its input`);
    }
    const mask =
      mode === 'background'
        ? await productMask(input, {
            hasAlpha,
            ...(maskFile && { mask: crop((await readRgba(maskFile.path)).pixels, params.width, params.height) }),
            ...(segmenter && { segmenter }),
          })
        : undefined;
    const conditioning = mode === 'upscale' ? undefined : await core.conditioning(params);

    const images: ImageModeResult[] = [];
    for (let index = 0; index < params.imageCount; index++) {
      const seed = params.seed + index;
      control.checkAbort();
      let rgb: Buffer;
      if (mode === 'upscale') {
        rgb = await upscale(core, { encoder, upscaler: upscaler! }, control, {
          params,
          input,
          seed,
          tiles: run.tiles ?? DEFAULT_TILES,
        });
      } else if (mode === 'background') {
        rgb = await background(core, encoder, control, {
          params,
          conditioning: conditioning!,
          input,
          mask: mask!,
          seed,
          ...(inpaint && { inpaint }),
        });
      } else {
        rgb = await vary(core, encoder, control, { params, conditioning: conditioning!, input, seed, denoise });
      }
      const bytes = await run.finish(rgb, params.width, params.height);
      const result: ImageModeResult = { bytes, width: params.width, height: params.height, format: params.outputFormat, seed };
      if (mask) {
        // Measured on what is delivered, after encoding: a lossy format would show here.
        result.productFidelity = productFidelity(input, await decodeRgb(bytes), mask);
        log.info({ seed, productFidelity: result.productFidelity }, 'background generated');
      }
      images.push(result);
    }
    return images;
  }

  /** Whether background mode paints with a 9-channel inpainting UNet (else latent blending). */
  get inpaints(): boolean {
    return this.sessions.inpaint !== undefined;
  }

  async release(): Promise<void> {
    await Promise.all(Object.values(this.sessions).map((session) => session.release()));
  }
}

/** An inpainting UNet: the base UNet's float inputs, `sample` with 9 channels. */
function requireInpaintUnet(session: OnnxSession): void {
  for (const name of ['sample', 'timestep', 'encoder_hidden_states', 'text_embeds', 'time_ids']) {
    const spec = session.inputs.find((input) => input.name === name);
    if (!spec || !spec.isTensor || spec.type !== 'float32') {
      throw new PipelineError('model_invalid', `unet_inpaint has no float32 input "${name}"`);
    }
    if (name === 'sample' && spec.shape[1] !== INPAINT_CHANNELS) {
      throw new PipelineError(
        'model_invalid',
        `unet_inpaint's sample has ${String(spec.shape[1])} channels; an inpainting UNet takes ${INPAINT_CHANNELS}`,
      );
    }
  }
}
