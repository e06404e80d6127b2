import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PipelineError } from '../errors/pipeline-error.js';
import { MODEL_FILES, missingModelFiles } from '../model/model-layout.js';

/** SDXL's VAE `scaling_factor`, used when `vae_decoder/config.json` is absent. */
const SDXL_VAE_SCALING_FACTOR = 0.13025;

/** What the pipeline reads from a model directory's JSON files. */
export interface SdxlModelConfig {
  /** diffusers' SDXL default: an empty negative prompt means zero embeddings, not encoded "". */
  forceZerosForEmptyPrompt: boolean;
  scheduler: Record<string, unknown>;
  vaeScalingFactor: number;
}

export async function readModelConfig(dir: string): Promise<SdxlModelConfig> {
  const missing = await missingModelFiles(dir);
  if (missing.length > 0) {
    throw new PipelineError('model_invalid', `${dir} is not an SDXL ONNX export; missing ${missing.join(', ')}`);
  }
  const index = await readJson(join(dir, MODEL_FILES.index));
  const scheduler = await readJson(join(dir, MODEL_FILES.scheduler));
  const vae = await readJson(join(dir, MODEL_FILES.vaeDecoderConfig)).catch((error: unknown): Record<string, unknown> => {
    if (error instanceof PipelineError && (error.cause as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') return {};
    throw error;
  });
  const scalingFactor = vae.scaling_factor ?? SDXL_VAE_SCALING_FACTOR;
  if (typeof scalingFactor !== 'number' || !(scalingFactor > 0)) {
    throw new PipelineError('model_invalid', `vae_decoder/config.json: scaling_factor must be a positive number`);
  }
  return {
    forceZerosForEmptyPrompt: index.force_zeros_for_empty_prompt !== false,
    scheduler,
    vaeScalingFactor: scalingFactor,
  };
}

async function readJson(path: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new PipelineError('model_invalid', `cannot read ${path}`, { cause: error });
  }
  try {
    const value: unknown = JSON.parse(text);
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error('not a JSON object');
    return value as Record<string, unknown>;
  } catch (error) {
    throw new PipelineError('model_invalid', `${path} is not a JSON object`, { cause: error });
  }
}
