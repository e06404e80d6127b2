import type { ResolvedJobParams } from '@atelier/protocol';
import type { OnnxSession } from '../onnx/onnx-session.js';
import { LATENT_FACTOR } from '../pipeline/job-params.js';
import { toRgb8 } from '../pipeline/image-output.js';
import type { Conditioning } from '../pipeline/conditioning.js';
import type { DiffusionCore, JobControl } from './diffusion-core.js';
import type { Pixels } from './image-io.js';
import { sampleFromImage } from './img2img-sampler.js';
import { decodeLatents, encodeLatents } from './vae.js';

/** Fooocus's "Vary (Subtle)" and "Vary (Strong)": the share of the schedule re-run over the input. */
export const VARY_DENOISE = { 'vary-subtle': 0.5, 'vary-strong': 0.85 } as const;

/**
 * Image-to-image as diffusers' SDXL img2img pipeline does it: the input through the VAE
 * encoder, noised to the start of the truncated schedule, the remaining steps, decoded.
 */
export async function vary(
  core: DiffusionCore,
  encoder: OnnxSession,
  control: JobControl,
  job: { params: ResolvedJobParams; conditioning: Conditioning; input: Pixels; seed: number; denoise: number },
): Promise<Buffer> {
  const { params, input } = job;
  await control.stage('encoding');
  const init = await encodeLatents(encoder, input, core.vaeScalingFactor);
  await control.stage('sampling');
  const latents = await sampleFromImage(core, control, {
    params,
    init,
    latentHeight: params.height / LATENT_FACTOR,
    latentWidth: params.width / LATENT_FACTOR,
    denoise: job.denoise,
    seed: job.seed,
    conditioning: job.conditioning,
  });
  control.checkAbort();
  await control.stage('decoding');
  return toRgb8(await decodeLatents(core, latents, params.height, params.width), params.width, params.height);
}
