import { PipelineError } from '../errors/pipeline-error.js';
import { moduleLogger } from '../logging/logger.js';
import { OnnxSession, type ExecutionProviderPreference } from '../onnx/onnx-session.js';
import { readClassifierFiles, type ClassifierPreprocessing } from './classifier-files.js';
import { PIL_RESAMPLE, pilResize } from './pil-resize.js';

const log = moduleLogger('output-classifier');

/** Labels that mean "unsafe" in the classifiers a deployment is likely to drop in (README). */
const UNSAFE_LABELS = /^(nsfw|unsafe|porn|hentai|sexy|explicit|sexual)$/i;

/** ViTImageProcessor's defaults, the commonest image-classification export, where a folder says nothing. */
const DEFAULT_PREPROCESSING: ClassifierPreprocessing = {
  resize: { width: 224, height: 224 },
  resample: PIL_RESAMPLE.bilinear,
  rescale: 1 / 255,
  mean: [0.5, 0.5, 0.5],
  std: [0.5, 0.5, 0.5],
};

export interface OutputClassifierOptions {
  provider?: ExecutionProviderPreference;
  intraOpThreads?: number;
  /**
   * The classes whose probabilities add up to the unsafe score, by index or by label
   * (`ATELIER_SAFETY_UNSAFE_CLASSES`). Absent: the labels in `config.json` that say nsfw,
   * unsafe, porn, hentai, sexy, explicit or sexual.
   */
  unsafeClasses?: readonly string[];
}

/**
 * Scores a result image: the probability that it is unsafe, 0–1. The contract (README,
 * "Output classifier"): one float32 input [b,3,H,W] fed the image resized to H×W, scaled by
 * `rescale` and normalised by `mean`/`std` (from `preprocessor_config.json`); the first
 * output [b,C]. With one column it is the probability itself; with more it is logits
 * (softmax applied) or already probabilities (rows of 0–1 that sum to 1), and the unsafe
 * classes' probabilities are added up.
 */
export class OutputClassifier {
  private constructor(
    private readonly session: OnnxSession,
    readonly source: string,
    private readonly input: string,
    private readonly preprocessing: ClassifierPreprocessing,
    /** Empty for a one-column output. */
    private readonly unsafe: readonly number[],
    private readonly classes: number,
  ) {}

  static async load(source: string, options: OutputClassifierOptions = {}): Promise<OutputClassifier> {
    const files = await readClassifierFiles(source);
    const session = await OnnxSession.create(files.model, {
      provider: options.provider ?? 'auto',
      intraOpThreads: options.intraOpThreads ?? 0,
      label: 'output_classifier',
    });
    try {
      const [input] = session.inputs;
      if (
        !input?.isTensor ||
        input.type !== 'float32' ||
        input.shape.length !== 4 ||
        (input.shape[1] !== 3 && typeof input.shape[1] === 'number')
      ) {
        throw new PipelineError(
          'model_invalid',
          `output classifier ${files.model}: its first input must be float32 [batch, 3, height, width]`,
        );
      }
      const [output] = session.outputs;
      const classes = output?.isTensor ? output.shape[1] : undefined;
      if (
        !output?.isTensor ||
        output.type !== 'float32' ||
        output.shape.length !== 2 ||
        typeof classes !== 'number' ||
        classes < 1
      ) {
        throw new PipelineError(
          'model_invalid',
          `output classifier ${files.model}: its first output must be float32 [batch, classes]`,
        );
      }
      // A processor file says how to resize; without one, a graph with a fixed size says to what.
      const [, , height, width] = input.shape;
      const preprocessing: ClassifierPreprocessing = {
        ...DEFAULT_PREPROCESSING,
        ...(typeof height === 'number' && typeof width === 'number' && { resize: { width, height } }),
        ...files.preprocessing,
      };
      const unsafe = classes === 1 ? [] : unsafeClasses(files.labels, classes, options.unsafeClasses, files.model);
      log.info(
        { source, input: input.name, ...preprocessing, unsafe: unsafe.map((index) => files.labels?.get(index) ?? index) },
        'output classifier loaded',
      );
      return new OutputClassifier(session, source, input.name, preprocessing, unsafe, classes);
    } catch (error) {
      await session.release();
      throw error;
    }
  }

  /** The probability that 8-bit RGB `rgb` (width × height × 3) is unsafe. */
  async score(rgb: Buffer, width: number, height: number): Promise<number> {
    const { pixels, width: w, height: h } = prepare(rgb, width, height, this.preprocessing);
    const { rescale, mean, std } = this.preprocessing;
    const plane = w * h;
    const data = new Float32Array(3 * plane);
    for (let c = 0; c < 3; c++) {
      for (let p = 0; p < plane; p++) data[c * plane + p] = (pixels[p * 3 + c]! * rescale - mean[c]!) / std[c]!;
    }
    const outputs = await this.session.run({ [this.input]: { type: 'float32', data, dims: [1, 3, h, w] } });
    const first = Object.values(outputs)[0];
    if (!first || first.type !== 'float32' || first.data.length !== this.classes) {
      throw new PipelineError('model_invalid', `output classifier returned ${first ? `[${first.dims.join(',')}]` : 'nothing'}`);
    }
    const row = first.data;
    if (this.classes === 1) return clamp(row[0]!);
    const probabilities = isDistribution(row) ? row : softmax(row);
    return clamp(this.unsafe.reduce((sum, index) => sum + probabilities[index]!, 0));
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}

/** Resized (as Pillow does) and centre-cropped, as the classifier's image processor would. */
function prepare(rgb: Uint8Array, width: number, height: number, { resize, crop, resample }: ClassifierPreprocessing) {
  // transformers' get_resize_output_image_size for a shortest edge: the longer side scaled and truncated.
  const edge = 'shortestEdge' in resize ? resize.shortestEdge : 0;
  let [w, h] =
    'shortestEdge' in resize
      ? width <= height
        ? [edge, Math.trunc((edge * height) / width)]
        : [Math.trunc((edge * width) / height), edge]
      : [resize.width, resize.height];
  let pixels = w === width && h === height ? rgb : pilResize(rgb, width, height, w, h, resample);
  if (crop && (crop.width !== w || crop.height !== h)) {
    const top = Math.max(0, (h - crop.height) >> 1);
    const left = Math.max(0, (w - crop.width) >> 1);
    const cut = new Uint8Array(crop.width * crop.height * 3);
    for (let y = 0; y < Math.min(crop.height, h); y++) {
      const from = ((top + y) * w + left) * 3;
      cut.set(pixels.subarray(from, from + Math.min(crop.width, w) * 3), y * crop.width * 3);
    }
    [pixels, w, h] = [cut, crop.width, crop.height];
  }
  return { pixels, width: w, height: h };
}

function unsafeClasses(
  labels: Map<number, string> | undefined,
  classes: number,
  named: readonly string[] | undefined,
  model: string,
): number[] {
  if (named && named.length > 0) {
    return named.map((name) => {
      const index = /^\d+$/.test(name) ? Number(name) : [...(labels ?? [])].find(([, label]) => label === name)?.[0];
      if (index === undefined || index >= classes) {
        throw new PipelineError(
          'model_invalid',
          `output classifier ${model}: ATELIER_SAFETY_UNSAFE_CLASSES names "${name}", which is not one of its ${classes} classes (${describe(labels, classes)})`,
        );
      }
      return index;
    });
  }
  const found = [...(labels ?? [])]
    .filter(([index, label]) => index < classes && UNSAFE_LABELS.test(label))
    .map(([index]) => index);
  if (found.length === 0) {
    throw new PipelineError(
      'model_invalid',
      `output classifier ${model}: none of its classes (${describe(labels, classes)}) is labelled as unsafe; name them in ATELIER_SAFETY_UNSAFE_CLASSES`,
    );
  }
  return found;
}

function describe(labels: Map<number, string> | undefined, classes: number): string {
  return Array.from({ length: classes }, (_, index) => `${index}: ${labels?.get(index) ?? '?'}`).join(', ');
}

function isDistribution(row: Float32Array): boolean {
  let sum = 0;
  for (const x of row) {
    if (!(x >= 0 && x <= 1)) return false;
    sum += x;
  }
  return Math.abs(sum - 1) < 1e-4;
}

function softmax(row: Float32Array): Float64Array {
  const max = Math.max(...row);
  const exp = Float64Array.from(row, (x) => Math.exp(x - max));
  const sum = exp.reduce((a, b) => a + b, 0);
  return exp.map((x) => x / sum);
}

function clamp(x: number): number {
  return Number.isNaN(x) ? 1 : Math.min(1, Math.max(0, x));
}
