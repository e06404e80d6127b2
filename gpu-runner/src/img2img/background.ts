import type { ResolvedJobParams } from '@atelier/protocol';
import { PipelineError } from '../errors/pipeline-error.js';
import type { OnnxSession } from '../onnx/onnx-session.js';
import type { Conditioning } from '../pipeline/conditioning.js';
import { toRgb8 } from '../pipeline/image-output.js';
import { LATENT_FACTOR } from '../pipeline/job-params.js';
import { UnetCall } from '../pipeline/unet-call.js';
import type { DiffusionCore, JobControl } from './diffusion-core.js';
import { toNchw, type Pixels } from './image-io.js';
import { addNoise, guide, sampleFromImage } from './img2img-sampler.js';
import { decodeLatents, encodeLatents } from './vae.js';

/** An inpainting UNet's input channels: the latents, the mask, the masked image's latents. */
export const INPAINT_CHANNELS = 9;

/** Pixels this close to the product's outline are left out of the fidelity figure (anti-aliased edges). */
export const FIDELITY_EDGE_BAND = 3;

/** Where the product is, 0–255 per pixel (255: product, kept exactly; 0: scene). */
export type ProductMask = Uint8Array;

/**
 * The product mask, from (in order of preference) the job's mask image (white or opaque =
 * product), the input's own alpha, or the segmentation model; none of them is an error.
 */
export async function productMask(
  input: Pixels,
  options: { hasAlpha: boolean; mask?: Pixels; segmenter?: OnnxSession },
): Promise<ProductMask> {
  const plane = input.width * input.height;
  const out = new Uint8Array(plane);
  if (options.mask) {
    const { mask } = options;
    if (mask.width !== input.width || mask.height !== input.height) {
      throw new PipelineError(
        'invalid_params',
        `the mask is ${mask.width}x${mask.height}, the input ${input.width}x${input.height}`,
      );
    }
    for (let p = 0; p < plane; p++) {
      const [r, g, b, a] = [0, 1, 2, 3].map((c) => mask.data[p * mask.channels + c] ?? 255) as [number, number, number, number];
      out[p] = (0.299 * r + 0.587 * g + 0.114 * b) * (a / 255) >= 128 ? 255 : 0;
    }
    return out;
  }
  if (options.hasAlpha) {
    for (let p = 0; p < plane; p++) out[p] = input.data[p * 4 + 3]!;
    return out;
  }
  if (!options.segmenter) {
    throw new PipelineError(
      'invalid_params',
      'background needs a product photo with transparency, a mask, or a segmentation model (segmenter/) on the runner',
    );
  }
  const inputName = options.segmenter.inputs[0]!.name;
  const outputName = options.segmenter.outputNames[0]!;
  const { [outputName]: probability } = await options.segmenter.run(
    { [inputName]: { type: 'float32', data: toNchw(input, 0, 1), dims: [1, 3, input.height, input.width] } },
    [outputName],
  );
  if (!probability || probability.type !== 'float32' || probability.data.length !== plane) {
    throw new PipelineError('model_invalid', `segmenter returned no [1,1,${input.height},${input.width}] float32 mask`);
  }
  for (let p = 0; p < plane; p++) out[p] = probability.data[p]! >= 0.5 ? 255 : 0;
  return out;
}

/**
 * A background around the product. With a 9-channel inpainting UNet (`inpaint`), as
 * diffusers' StableDiffusionXLInpaintPipeline: from pure noise, every step the UNet sees
 * the latents next to the scene mask and the latents of the input with the scene greyed
 * out, and paints the scene to fit the product. Without one, by latent-blended inpainting
 * with the base UNet (the legacy diffusers inpaint path for 4-channel UNets): after every
 * step the latents under the product are replaced by the input's latents noised to the
 * next step's level. Either way the product's own pixels are then composited back over
 * the decoded image, so they are the input's exactly.
 */
export async function background(
  core: DiffusionCore,
  encoder: OnnxSession,
  control: JobControl,
  job: {
    params: ResolvedJobParams;
    conditioning: Conditioning;
    input: Pixels;
    mask: ProductMask;
    seed: number;
    inpaint?: OnnxSession;
  },
): Promise<Buffer> {
  const { params, input, mask } = job;
  const [height, width] = [params.height, params.width];
  const [latentHeight, latentWidth] = [height / LATENT_FACTOR, width / LATENT_FACTOR];
  await control.stage('encoding');
  // The scene around the product starts from neutral grey, not from whatever colour a
  // transparent pixel happens to store.
  const seen = Buffer.alloc(width * height * 3);
  for (let p = 0; p < width * height; p++) {
    const a = mask[p]! / 255;
    for (let c = 0; c < 3; c++) seen[p * 3 + c] = Math.round(input.data[p * input.channels + c]! * a + 128 * (1 - a));
  }
  const init = await encodeLatents(encoder, { data: seen, width, height, channels: 3 }, core.vaeScalingFactor);
  const keep = latentKeep(mask, width, height);
  const plane = latentHeight * latentWidth;

  await control.stage('sampling');
  const run = { params, init, latentHeight, latentWidth, denoise: 1, seed: job.seed, conditioning: job.conditioning };
  const latents = job.inpaint
    ? await sampleFromImage(core, control, {
        ...run,
        pureNoise: true,
        predict: inpaintPredictor(job.inpaint, job.conditioning, params, { init, keep, latentHeight, latentWidth }),
      })
    : await sampleFromImage(core, control, {
        ...run,
        afterStep: (current, nextIndex, scheduler, noise) => {
          const last = nextIndex >= scheduler.timesteps.length;
          const proper = last ? init : addNoise(scheduler, init, noise, nextIndex);
          const out = new Float32Array(current.length);
          for (let i = 0; i < current.length; i++) {
            const k = keep[i % plane]!;
            out[i] = k * proper[i]! + (1 - k) * current[i]!;
          }
          return out;
        },
      });
  control.checkAbort();
  await control.stage('decoding');
  const scene = toRgb8(await decodeLatents(core, latents, height, width), width, height);
  for (let p = 0; p < width * height; p++) {
    const a = mask[p]!;
    for (let c = 0; c < 3; c++) {
      const product = input.data[p * input.channels + c]!;
      scene[p * 3 + c] = a === 255 ? product : Math.round((product * a + scene[p * 3 + c]! * (255 - a)) / 255);
    }
  }
  return scene;
}

/**
 * The guided noise prediction of the inpainting UNet. Its input per step: the scaled
 * latents, the mask (1 where the scene is painted: diffusers binarises the mask at 0.5 and
 * takes the nearest latent cell, here the cell's product share below one half) and the
 * masked image's latents, which are `init` (the input with the scene greyed out, i.e. 0
 * in the VAE's [-1, 1]), stacked on the channel axis.
 */
function inpaintPredictor(
  unet: OnnxSession,
  conditioning: Conditioning,
  params: ResolvedJobParams,
  latent: { init: Float32Array; keep: Float32Array; latentHeight: number; latentWidth: number },
): (latents: Float32Array, t: number) => Promise<Float32Array> {
  const { init, keep, latentHeight, latentWidth } = latent;
  const call = new UnetCall(unet, conditioning, 1, latentHeight, latentWidth, INPAINT_CHANNELS);
  const plane = latentHeight * latentWidth;
  const input = new Float32Array(INPAINT_CHANNELS * plane);
  for (let p = 0; p < plane; p++) input[4 * plane + p] = keep[p]! < 0.5 ? 1 : 0;
  input.set(init, 5 * plane);
  return async (latents, t) => {
    input.set(latents, 0);
    return guide(conditioning, await call.predict([input], t), params);
  };
}

/** The share of each latent cell's 8x8 pixels that is product. */
function latentKeep(mask: ProductMask, width: number, height: number): Float32Array {
  const [lw, lh] = [width / LATENT_FACTOR, height / LATENT_FACTOR];
  const keep = new Float32Array(lw * lh);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const cell = Math.floor(y / LATENT_FACTOR) * lw + Math.floor(x / LATENT_FACTOR);
      keep[cell] = keep[cell]! + mask[y * width + x]! / 255 / (LATENT_FACTOR * LATENT_FACTOR);
    }
  }
  return keep;
}

/**
 * The product fidelity figure: the largest 8-bit difference, over RGB, between the
 * delivered image and the input inside the product (mask ≥ 128) once a band of
 * `band` pixels along its outline is taken away. 0 means every such pixel is the input's.
 */
export function productFidelity(input: Pixels, output: Pixels, mask: ProductMask, band = FIDELITY_EDGE_BAND): number {
  const { width, height } = output;
  if (input.width !== width || input.height !== height) throw new Error('fidelity needs images of one size');
  const inside = erode(mask, width, height, band);
  let worst = 0;
  for (let p = 0; p < width * height; p++) {
    if (!inside[p]) continue;
    for (let c = 0; c < 3; c++) {
      worst = Math.max(worst, Math.abs(input.data[p * input.channels + c]! - output.data[p * output.channels + c]!));
    }
  }
  return worst;
}

/** Product pixels at least `band` pixels (Chebyshev) from any non-product pixel; beyond the image counts as product. */
function erode(mask: ProductMask, width: number, height: number, band: number): Uint8Array {
  const rows = new Uint8Array(width * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      let all = 1;
      for (let dx = -band; dx <= band && all; dx++) {
        const xx = x + dx;
        if (xx >= 0 && xx < width && mask[y * width + xx]! < 128) all = 0;
      }
      rows[y * width + x] = all;
    }
  }
  const out = new Uint8Array(width * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      let all = 1;
      for (let dy = -band; dy <= band && all; dy++) {
        const yy = y + dy;
        if (yy >= 0 && yy < height && !rows[yy * width + x]) all = 0;
      }
      out[y * width + x] = all;
    }
  }
  return out;
}
