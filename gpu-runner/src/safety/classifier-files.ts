import { readFile, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { PipelineError } from '../errors/pipeline-error.js';
import { PIL_RESAMPLE } from './pil-resize.js';

/**
 * How an image becomes the classifier's input, as transformers' image processors do it:
 * resize (to a size, or the shorter side to a length), optionally cut the centre out,
 * rescale (1/255) and normalise by mean and std.
 */
export interface ClassifierPreprocessing {
  resize: { width: number; height: number } | { shortestEdge: number };
  /** The centre crop (CLIP's processors); absent: the resized image is the input. */
  crop?: { width: number; height: number };
  /** Pillow's filter (`Image.Resampling`): 2 bilinear (ViT), 3 bicubic (CLIP). */
  resample: number;
  rescale: number;
  mean: [number, number, number];
  std: [number, number, number];
}

/** What a classifier's folder says about it; anything absent is decided from the graph or by default. */
export interface ClassifierFiles {
  model: string;
  /** `config.json`'s `id2label`, by class index. */
  labels?: Map<number, string>;
  preprocessing: Partial<ClassifierPreprocessing>;
}

/**
 * Reads a classifier as transformers or Optimum export one: a folder with `model.onnx`,
 * `config.json` (labels) and `preprocessor_config.json` (size, mean, std), or a `.onnx`
 * file, whose folder is read for the same two files.
 */
export async function readClassifierFiles(source: string): Promise<ClassifierFiles> {
  const found = await stat(source).catch(() => undefined);
  if (!found) throw new PipelineError('model_invalid', `output classifier ${source} does not exist`);
  const model = found.isDirectory() ? join(source, 'model.onnx') : source;
  const folder = found.isDirectory() ? source : dirname(source);
  const config = await readJson(join(folder, 'config.json'));
  const processor = await readJson(join(folder, 'preprocessor_config.json'));
  const files: ClassifierFiles = { model, preprocessing: processor ? preprocessingOf(processor) : {} };
  const id2label = config?.id2label;
  if (id2label && typeof id2label === 'object') {
    files.labels = new Map(
      Object.entries(id2label as Record<string, unknown>).flatMap(([index, label]) =>
        typeof label === 'string' && /^\d+$/.test(index) ? [[Number(index), label] as const] : [],
      ),
    );
  }
  return files;
}

function preprocessingOf(processor: Record<string, unknown>): Partial<ClassifierPreprocessing> {
  const out: Partial<ClassifierPreprocessing> = {};
  const resize = sizeOf(processor.size);
  if (resize && processor.do_resize !== false) out.resize = resize;
  if (processor.do_center_crop === true) {
    const crop = sizeOf(processor.crop_size);
    if (crop && 'width' in crop) out.crop = crop;
  }
  const resample = processor.resample;
  if (typeof resample === 'number' && Object.values<number>(PIL_RESAMPLE).includes(resample)) out.resample = resample;
  // Each processor's own default where the file leaves it out: CLIP's is bicubic.
  else if (typeof processor.image_processor_type === 'string' && processor.image_processor_type.includes('CLIP')) {
    out.resample = PIL_RESAMPLE.bicubic;
  }
  if (processor.do_rescale === false) out.rescale = 1;
  else if (typeof processor.rescale_factor === 'number') out.rescale = processor.rescale_factor;
  if (processor.do_normalize === false) {
    out.mean = [0, 0, 0];
    out.std = [1, 1, 1];
  } else {
    const mean = triple(processor.image_mean);
    const std = triple(processor.image_std);
    if (mean) out.mean = mean;
    if (std) out.std = std;
  }
  return out;
}

/** `{height, width}`, `{shortest_edge}` or a number, as the processors write sizes. */
function sizeOf(value: unknown): ClassifierPreprocessing['resize'] | undefined {
  if (typeof value === 'number') return { width: value, height: value };
  if (!value || typeof value !== 'object') return undefined;
  const { width, height, shortest_edge: edge } = value as Record<string, unknown>;
  if (typeof width === 'number' && typeof height === 'number') return { width, height };
  if (typeof edge === 'number') return { shortestEdge: edge };
  return undefined;
}

function triple(value: unknown): [number, number, number] | undefined {
  if (Array.isArray(value) && value.length === 3 && value.every((x) => typeof x === 'number')) {
    return value as [number, number, number];
  }
  if (typeof value === 'number') return [value, value, value];
  return undefined;
}

async function readJson(path: string): Promise<Record<string, unknown> | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    return undefined;
  }
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch (error) {
    throw new PipelineError('model_invalid', `output classifier: ${path} is not JSON`, { cause: error });
  }
}
