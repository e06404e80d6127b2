import { access } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * The files an Optimum ONNX export of SDXL must contain for text-to-image. Large exports
 * add `model.onnx_data` next to a graph; onnxruntime finds it by itself.
 */
export const MODEL_FILES = {
  index: 'model_index.json',
  scheduler: 'scheduler/scheduler_config.json',
  tokenizer: 'tokenizer',
  tokenizer2: 'tokenizer_2',
  textEncoder: 'text_encoder/model.onnx',
  textEncoder2: 'text_encoder_2/model.onnx',
  unet: 'unet/model.onnx',
  vaeDecoder: 'vae_decoder/model.onnx',
  vaeDecoderConfig: 'vae_decoder/config.json',
} as const;

/**
 * Optional parts, each enabling generation modes (`imageModeFiles` in the pipeline):
 * - `vae_encoder/`: Optimum's name for the AutoencoderKL encoder (vary, upscale, background).
 *   Current Optimum exports output `latent_parameters` (mean and log-variance), older ones
 *   `latent_sample`; both are read.
 * - `upscaler/`: any ESRGAN-style 2x super-resolution export (e.g. Real-ESRGAN x2plus or
 *   SRVGGNetCompact), one NCHW RGB input in [0, 1], one output twice the size (upscale).
 * - `segmenter/`: a background-removal export (RMBG, BiRefNet, U²-Net), one NCHW RGB input
 *   in [0, 1], one output [b,1,H,W] foreground probability (background without a mask).
 * - `output_classifier/`: an image classifier that scores every result before it leaves
 *   the runner (safety/output-classifier.ts; `ATELIER_SAFETY_MODEL` may point elsewhere).
 * - `unet_inpaint/`: the UNet of an SDXL inpainting model (an Optimum export's `unet/`,
 *   renamed), `sample` with 9 channels: latents, mask, masked-image latents. Background
 *   mode paints with it instead of latent blending with the base UNet.
 * No export tool writes the last four into an SDXL directory; copy them in under these names.
 */
export const OPTIONAL_MODEL_FILES = {
  vaeEncoder: 'vae_encoder/model.onnx',
  upscaler: 'upscaler/model.onnx',
  segmenter: 'segmenter/model.onnx',
  outputClassifier: 'output_classifier',
  inpaintUnet: 'unet_inpaint/model.onnx',
} as const;

/**
 * A tokenizer directory holds `tokenizer.json` (current transformers writes only that and
 * `tokenizer_config.json`) or `vocab.json` + `merges.txt` (Optimum, older transformers).
 */
const TOKENIZER_FORMS = [['tokenizer.json'], ['vocab.json', 'merges.txt']];

/** The required paths that are not readable under `dir` (empty when the layout is complete). */
export async function missingModelFiles(dir: string): Promise<string[]> {
  const missing: string[] = [];
  for (const [key, relative] of Object.entries(MODEL_FILES)) {
    if (key === 'vaeDecoderConfig') continue; // optional: the SDXL scaling factor is the default
    if (key === 'tokenizer' || key === 'tokenizer2') {
      const forms = await Promise.all(TOKENIZER_FORMS.map((files) => unreadable(files.map((file) => join(dir, relative, file)))));
      // Neither form complete: name what the usual (Optimum) form lacks.
      if (forms.every((absent) => absent.length > 0)) missing.push(...forms[1]!);
    } else {
      missing.push(...(await unreadable([join(dir, relative)])));
    }
  }
  return missing;
}

async function unreadable(paths: string[]): Promise<string[]> {
  const checks = await Promise.all(
    paths.map(async (path) => {
      try {
        await access(path);
        return undefined;
      } catch {
        return path;
      }
    }),
  );
  return checks.filter((path): path is string => path !== undefined);
}
