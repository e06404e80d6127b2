import { GraphBuilder, int, ints } from './onnx-graph-builder.js';

/** The side the tiny classifier (like ViT-base and CLIP image classifiers) takes its input at. */
export const CLASSIFIER_INPUT_SIZE = 224;

/**
 * How strongly a pixel must lean to magenta to count: R and B each at least this far above
 * G (0–1). A saturated magenta (255, 0, 255) counts fully; skin, wood and sky never do.
 */
const MAGENTA_MARGIN = 0.5;
/** The share of strongly magenta pixels at which the score crosses 0.5. */
const UNSAFE_AREA = 0.1;
const STEEPNESS = 200;

/**
 * A stand-in output classifier shaped like Hugging Face's image-classification ONNX exports
 * (Falconsai/nsfw_image_detection's ViT): `pixel_values` [b,3,224,224], normalised with
 * mean 0.5 and std 0.5 → `logits` [b,2] for the labels `normal` and `nsfw`.
 *
 * Not learned: it scores how much of the image is a saturated magenta, a colour the tiny
 * SDXL model does not produce, so tests can plant an "unsafe" image (a product photo with
 * a magenta patch, whose pixels the background mode keeps) and know that ordinary tiny
 * outputs pass. The nsfw logit is STEEPNESS × (share of magenta − UNSAFE_AREA) against a
 * constant 0 for normal, so the softmax's nsfw probability is the sigmoid of it.
 */
export function buildOutputClassifier(): Uint8Array {
  const g = new GraphBuilder('output_classifier', 0);
  const size = CLASSIFIER_INPUT_SIZE;
  const input = g.input('pixel_values', 'float32', ['batch_size', 3, size, size]);
  // Undo the processor's normalisation: back to RGB in [0, 1].
  const rgb = g.op('Add', [g.op('Mul', [input, g.floats('std', [], [0.5])]), g.floats('mean', [], [0.5])]);
  // R − G and B − G as two channels; their minimum is min(R, B) − G.
  const leans = g.op('Conv', [rgb, g.floats('lean.weight', [2, 3, 1, 1], [1, -1, 0, 0, -1, 1])]);
  const lean = g.op('ReduceMin', [leans], { axes: ints([1]), keepdims: int(1) });
  // Per pixel 0 … 1: how far past the margin it leans, as a fraction of the room above it.
  const strength = g.op('Div', [
    g.op('Relu', [g.op('Sub', [lean, g.floats('margin', [], [MAGENTA_MARGIN])])]),
    g.floats('room', [], [1 - MAGENTA_MARGIN]),
  ]);
  const area = g.op('Flatten', [g.op('ReduceMean', [strength], { axes: ints([2, 3]), keepdims: int(1) })], { axis: int(1) });
  const nsfw = g.op('Mul', [
    g.op('Sub', [area, g.floats('unsafe_area', [], [UNSAFE_AREA])]),
    g.floats('steepness', [], [STEEPNESS]),
  ]);
  const normal = g.op('Mul', [nsfw, g.floats('zero', [], [0])]);
  g.op('Concat', [normal, nsfw], { axis: int(1) }, 'logits');
  g.output('logits', 'float32', ['batch_size', 2]);
  return g.toBytes();
}

/** `config.json` as transformers writes it for an image classifier: the labels by class index. */
export function outputClassifierConfig(): Record<string, unknown> {
  return {
    architectures: ['TinyMagentaClassifier'],
    id2label: { '0': 'normal', '1': 'nsfw' },
    label2id: { normal: 0, nsfw: 1 },
  };
}

/** `preprocessor_config.json` as ViTImageProcessor writes it. */
export function outputClassifierPreprocessor(): Record<string, unknown> {
  return {
    do_resize: true,
    size: { height: CLASSIFIER_INPUT_SIZE, width: CLASSIFIER_INPUT_SIZE },
    do_rescale: true,
    rescale_factor: 1 / 255,
    do_normalize: true,
    image_mean: [0.5, 0.5, 0.5],
    image_std: [0.5, 0.5, 0.5],
    image_processor_type: 'ViTImageProcessor',
  };
}
