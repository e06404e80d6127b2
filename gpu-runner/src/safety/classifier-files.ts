import { readFile, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';

/** How an image becomes the classifier's input: Hugging Face image processors' fields. */
export interface ClassifierPreprocessing {
  /** The input's size; with `centerCrop`, the image is resized to cover it and the middle cut out. */
  width: number;
  height: number;
  centerCrop: boolean;
  /** sharp's kernel for PIL's `resample` (2, bilinear: ViT; 3, bicubic: CLIP). */
  kernel: 'nearest' | 'linear' | 'cubic' | 'lanczos3';
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

const KERNELS = { 0: 'nearest', 1: 'lanczos3', 2: 'linear', 3: 'cubic' } as const;

/**
 * Reads a classifier as transformers or Optimum export one: a folder with `model.onnx`,
 * `config.json` (labels) and `preprocessor_config.json` (size, mean, std), or a `.onnx`
 * file, whose folder is read for the same two files.
 */
export async function readClassifierFiles(source: string): Promise<ClassifierFiles> {
  const isDir = (await stat(source)).isDirectory();
  const model = isDir ? join(source, 'model.onnx') : source;
  const folder = isDir ? source : dirname(source);
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
  const crop = processor.do_center_crop === true ? sizeOf(processor.crop_size) : undefined;
  const size = crop ?? sizeOf(processor.size);
  if (size) Object.assign(out, size);
  out.centerCrop = crop !== undefined;
  const resample = processor.resample;
  if (typeof resample === 'number' && resample in KERNELS) out.kernel = KERNELS[resample as keyof typeof KERNELS];
  if (processor.do_rescale !== false && typeof processor.rescale_factor === 'number') out.rescale = processor.rescale_factor;
  if (processor.do_rescale === false) out.rescale = 1;
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
function sizeOf(value: unknown): { width: number; height: number } | undefined {
  if (typeof value === 'number') return { width: value, height: value };
  if (!value || typeof value !== 'object') return undefined;
  const { width, height, shortest_edge: edge } = value as Record<string, unknown>;
  if (typeof width === 'number' && typeof height === 'number') return { width, height };
  if (typeof edge === 'number') return { width: edge, height: edge };
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
  return JSON.parse(text) as Record<string, unknown>;
}
