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

const TOKENIZER_FILES = ['vocab.json', 'merges.txt'];

/** Every required path under `dir`, tokenizer files included. */
export function requiredModelPaths(dir: string): string[] {
  const paths: string[] = [];
  for (const [key, relative] of Object.entries(MODEL_FILES)) {
    if (key === 'vaeDecoderConfig') continue; // optional: the SDXL scaling factor is the default
    if (key === 'tokenizer' || key === 'tokenizer2') {
      for (const file of TOKENIZER_FILES) paths.push(join(dir, relative, file));
    } else {
      paths.push(join(dir, relative));
    }
  }
  return paths;
}

/** The required paths that are not readable under `dir` (empty when the layout is complete). */
export async function missingModelFiles(dir: string): Promise<string[]> {
  const checks = await Promise.all(
    requiredModelPaths(dir).map(async (path) => {
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
