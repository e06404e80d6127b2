import { PipelineError } from '../errors/pipeline-error.js';
import type { OnnxSession } from '../onnx/onnx-session.js';
import { LATENT_FACTOR } from '../pipeline/job-params.js';
import type { DiffusionCore } from './diffusion-core.js';
import { toNchw, type Pixels } from './image-io.js';

const LATENT_CHANNELS = 4;

/**
 * The input's latents as diffusers' img2img takes them, times `scaling_factor`; the
 * distribution's mean rather than a sample, so a job's result depends on its seed only
 * through the noise. Reads `latent_parameters` (mean, then log-variance; current Optimum)
 * or `latent_sample` (older exports).
 */
export async function encodeLatents(encoder: OnnxSession, pixels: Pixels, scalingFactor: number): Promise<Float32Array> {
  const { width, height } = pixels;
  const output = encoder.outputNames.includes('latent_parameters') ? 'latent_parameters' : 'latent_sample';
  const { [output]: moments } = await encoder.run(
    { sample: { type: 'float32', data: toNchw(pixels, -1, 1), dims: [1, 3, height, width] } },
    [output],
  );
  const size = LATENT_CHANNELS * (height / LATENT_FACTOR) * (width / LATENT_FACTOR);
  if (!moments || moments.type !== 'float32' || moments.data.length < size) {
    throw new PipelineError('model_invalid', `vae_encoder returned no float32 ${output} for a ${width}x${height} image`);
  }
  // NCHW with batch 1: the mean is the first four channels, stored first.
  const latents = new Float32Array(size);
  const factor = Math.fround(scalingFactor);
  for (let i = 0; i < size; i++) latents[i] = moments.data[i]! * factor;
  return latents;
}

/** Decodes scaled latents to NCHW RGB in [-1, 1], as the text-to-image path does. */
export async function decodeLatents(
  core: DiffusionCore,
  latents: Float32Array,
  height: number,
  width: number,
): Promise<Float32Array> {
  const factor = Math.fround(core.vaeScalingFactor);
  const { sample } = await core.vaeDecoder.run(
    {
      latent_sample: {
        type: 'float32',
        data: latents.map((x) => x / factor),
        dims: [1, LATENT_CHANNELS, height / LATENT_FACTOR, width / LATENT_FACTOR],
      },
    },
    ['sample'],
  );
  if (!sample || sample.type !== 'float32' || sample.dims[2] !== height || sample.dims[3] !== width) {
    throw new PipelineError('model_invalid', `vae_decoder returned no ${width}x${height} image`);
  }
  return sample.data;
}
