import sharp from 'sharp';

/**
 * In-progress previews of a job, rendered from the sampler's estimate of the clean latent
 * every few steps and sent as a small data: URL on the progress path. The default is
 * SDXL's linear latent-to-RGB approximation (well under a millisecond at 128x128); a
 * TAESD-XL decoder (preview-taesd.ts) gives a sharper picture at a UNet-step-like cost.
 */

/** The largest side of a preview, in pixels. */
export const PREVIEW_MAX_SIZE = 256;
export const PREVIEW_FORMATS = ['jpeg', 'webp'] as const;
export type PreviewFormat = (typeof PREVIEW_FORMATS)[number];

/** What the pipeline asks of a previewer: when, and how to turn a latent into a data: URL. */
export interface Previewer {
  /** A preview after every `every`-th step of an image (never after its last: the image follows). */
  readonly every: number;
  /**
   * `latents` are the images sampled together, each [4, height, width] in the UNet's latent
   * space (not divided by the VAE scaling factor); several become one picture side by side.
   */
  render(latents: readonly Float32Array[], height: number, width: number): Promise<string>;
}

/** Whether step `step` (1-based) of an image with `steps` steps gets a preview. */
export function previewDue(every: number, step: number, steps: number): boolean {
  return every > 0 && step < steps && step % every === 0;
}

/**
 * SDXL latent channel → RGB weights and bias, from ComfyUI's `comfy/latent_formats.py`,
 * class `SDXL` (`latent_rgb_factors`, `latent_rgb_factors_bias`; comfyanonymous/ComfyUI at
 * 040a3243). ComfyUI's `latent_preview.py` applies them as `linear(x0, factors^T, bias)`,
 * then clamps to [-1, 1] and maps to 0..255 with `(x + 1) * 127.5`, rounded. Fooocus
 * (ldm_patched/modules/latent_formats.py) carries ComfyUI's earlier fit without a bias.
 */
type Rgb = readonly [number, number, number];
export const SDXL_LATENT_RGB_FACTORS: readonly [Rgb, Rgb, Rgb, Rgb] = [
  [0.3651, 0.4232, 0.4341],
  [-0.2533, -0.0042, 0.1068],
  [0.1076, 0.1111, -0.0362],
  [-0.3165, -0.2492, -0.2188],
];
export const SDXL_LATENT_RGB_BIAS: Rgb = [0.1084, -0.0175, -0.0011];

export interface RgbImage {
  rgb: Buffer;
  width: number;
  height: number;
}

/**
 * [4, h, w] latent → interleaved 8-bit RGB by the linear approximation, box-averaged
 * down by a whole factor first when the latent is larger than `maxSize` (averaging and a
 * linear map commute, so this equals averaging the full-size preview).
 */
export function latentToRgb(latent: Float32Array, height: number, width: number, maxSize = PREVIEW_MAX_SIZE): RgbImage {
  const plane = height * width;
  if (latent.length < 4 * plane) throw new Error(`latent has ${latent.length} values, expected at least ${4 * plane}`);
  const factor = Math.max(1, Math.ceil(Math.max(height, width) / maxSize));
  const outHeight = Math.max(1, Math.floor(height / factor));
  const outWidth = Math.max(1, Math.floor(width / factor));
  const rgb = Buffer.allocUnsafe(outHeight * outWidth * 3);
  const [f0, f1, f2, f3] = SDXL_LATENT_RGB_FACTORS;
  if (factor === 1) {
    linearToRgb(latent, plane, outHeight * outWidth, rgb);
    return { rgb, width: outWidth, height: outHeight };
  }
  const area = factor * factor;
  let out = 0;
  for (let y = 0; y < outHeight; y++) {
    for (let x = 0; x < outWidth; x++) {
      let c0 = 0;
      let c1 = 0;
      let c2 = 0;
      let c3 = 0;
      for (let dy = 0; dy < factor; dy++) {
        let at = (y * factor + dy) * width + x * factor;
        for (let dx = 0; dx < factor; dx++, at++) {
          c0 += latent[at]!;
          c1 += latent[plane + at]!;
          c2 += latent[2 * plane + at]!;
          c3 += latent[3 * plane + at]!;
        }
      }
      c0 /= area;
      c1 /= area;
      c2 /= area;
      c3 /= area;
      for (let k = 0; k < 3; k++) {
        const value = c0 * f0[k]! + c1 * f1[k]! + c2 * f2[k]! + c3 * f3[k]! + SDXL_LATENT_RGB_BIAS[k]!;
        rgb[out++] = toByte(value);
      }
    }
  }
  return { rgb, width: outWidth, height: outHeight };
}

/** The linear map at full size, unrolled: previews are made between UNet steps and must cost next to nothing. */
function linearToRgb(latent: Float32Array, plane: number, pixels: number, rgb: Buffer): void {
  const [[a0, a1, a2], [b0, b1, b2], [c0, c1, c2], [d0, d1, d2]] = SDXL_LATENT_RGB_FACTORS;
  const [e0, e1, e2] = SDXL_LATENT_RGB_BIAS;
  for (let p = 0, out = 0; p < pixels; p++, out += 3) {
    const l0 = latent[p]!;
    const l1 = latent[plane + p]!;
    const l2 = latent[2 * plane + p]!;
    const l3 = latent[3 * plane + p]!;
    rgb[out] = toByte(l0 * a0 + l1 * b0 + l2 * c0 + l3 * d0 + e0);
    rgb[out + 1] = toByte(l0 * a1 + l1 * b1 + l2 * c1 + l3 * d1 + e1);
    rgb[out + 2] = toByte(l0 * a2 + l1 * b2 + l2 * c2 + l3 * d2 + e2);
  }
}

/**
 * Several images side by side in a grid as square as can be (2 → 2×1, 3 and 4 → 2×2), each
 * in a cell the size of the largest; one image is returned as it is.
 */
export function mosaic(images: readonly RgbImage[]): RgbImage {
  if (images.length === 1) return images[0]!;
  const columns = Math.ceil(Math.sqrt(images.length));
  const rows = Math.ceil(images.length / columns);
  const cellWidth = Math.max(...images.map((image) => image.width));
  const cellHeight = Math.max(...images.map((image) => image.height));
  const width = columns * cellWidth;
  const height = rows * cellHeight;
  const rgb = Buffer.alloc(width * height * 3);
  images.forEach((image, index) => {
    const left = (index % columns) * cellWidth;
    const top = Math.floor(index / columns) * cellHeight;
    for (let y = 0; y < image.height; y++) {
      image.rgb.copy(rgb, ((top + y) * width + left) * 3, y * image.width * 3, (y + 1) * image.width * 3);
    }
  });
  return { rgb, width, height };
}

/** The grid cell side `mosaic` gives each of `count` images within `maxSize`. */
export function mosaicCell(count: number, maxSize = PREVIEW_MAX_SIZE): number {
  return Math.max(1, Math.floor(maxSize / Math.ceil(Math.sqrt(count))));
}

/** [-1, 1] → 0..255 as ComfyUI's `preview_to_image`: clamp, `(x + 1) * 127.5`, round. */
export function toByte(value: number): number {
  return Math.round((Math.min(1, Math.max(-1, value)) + 1) * 127.5);
}

/**
 * Encodes a preview as a data: URL, scaled to fit `maxSize` if it is larger. Quality 70
 * and the fastest effort: a preview lives for a second and must not slow the job.
 */
export async function encodePreview(image: RgbImage, format: PreviewFormat, maxSize = PREVIEW_MAX_SIZE): Promise<string> {
  let pipeline = sharp(image.rgb, { raw: { width: image.width, height: image.height, channels: 3 } });
  if (image.width > maxSize || image.height > maxSize) pipeline = pipeline.resize(maxSize, maxSize, { fit: 'inside' });
  const bytes =
    format === 'jpeg'
      ? await pipeline.jpeg({ quality: 70, chromaSubsampling: '4:2:0' }).toBuffer()
      : await pipeline.webp({ quality: 70, effort: 0 }).toBuffer();
  return `data:image/${format};base64,${bytes.toString('base64')}`;
}

/** The default previewer: SDXL's linear latent-to-RGB approximation. */
export class LinearPreviewer implements Previewer {
  constructor(
    readonly every: number,
    private readonly format: PreviewFormat = 'jpeg',
  ) {}

  render(latents: readonly Float32Array[], height: number, width: number): Promise<string> {
    const cell = mosaicCell(latents.length);
    return encodePreview(mosaic(latents.map((latent) => latentToRgb(latent, height, width, cell))), this.format);
  }
}
