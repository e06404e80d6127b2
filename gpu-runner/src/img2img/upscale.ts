import type { ResolvedJobParams } from '@atelier/protocol';
import { PipelineError } from '../errors/pipeline-error.js';
import type { OnnxSession } from '../onnx/onnx-session.js';
import { toRgb8 } from '../pipeline/image-output.js';
import { LATENT_FACTOR } from '../pipeline/job-params.js';
import type { DiffusionCore, JobControl } from './diffusion-core.js';
import { fromNchw, resize, toNchw, type Pixels } from './image-io.js';
import { guide, sampleFromImage } from './img2img-sampler.js';
import { encodeLatents, decodeLatents } from './vae.js';

/** Fooocus's upscale re-render strength: enough to add detail, too little to change the picture. */
export const UPSCALE_DENOISE = 0.382;

export interface TileOptions {
  /** Tile side in latent cells (128 = SDXL's 1024 px). */
  tile: number;
  /** Cells shared by neighbouring tiles, over which their predictions are cross-faded. */
  overlap: number;
}

export const DEFAULT_TILES: TileOptions = { tile: 128, overlap: 32 };

/** The input enlarged 2x by the super-resolution model, then resampled to the job's size. */
export async function superResolve(upscaler: OnnxSession, input: Pixels, width: number, height: number): Promise<Pixels> {
  const inputName = upscaler.inputs[0]!.name;
  const outputName = upscaler.outputNames[0]!;
  const { [outputName]: out } = await upscaler.run(
    { [inputName]: { type: 'float32', data: toNchw(input, 0, 1), dims: [1, 3, input.height, input.width] } },
    [outputName],
  );
  if (!out || out.type !== 'float32' || out.dims.length !== 4 || out.dims[1] !== 3) {
    throw new PipelineError('model_invalid', 'upscaler returned no [1,3,H,W] float32 image');
  }
  const [srHeight, srWidth] = [Number(out.dims[2]), Number(out.dims[3])];
  return resize(fromNchw(out.data, srWidth, srHeight, 0, 1), width, height);
}

/** Tile origins along one axis: evenly spread, the last flush with the edge. */
export function tileStarts(size: number, tile: number, overlap: number): number[] {
  if (size <= tile) return [0];
  const stride = tile - overlap;
  const count = Math.ceil((size - tile) / stride) + 1;
  return Array.from({ length: count }, (_, i) => Math.round((i * (size - tile)) / (count - 1)));
}

/**
 * Each position's weight within its tile: 1 inside, falling linearly to near 0 across
 * the overlap, so where tiles meet their predictions cross-fade instead of meeting at a
 * seam. Weights never reach 0, so the image border (covered by one tile) is well defined.
 */
function ramp(position: number, length: number, overlap: number): number {
  const edge = Math.min(position + 1, length - position);
  return Math.min(1, edge / (overlap + 1));
}

/**
 * Upscale: super-resolution, then a re-render at low denoise in overlapping latent tiles,
 * so the UNet sees SDXL-sized windows however large the output. Every step predicts the
 * noise tile by tile and blends the predictions into one (weights above) before a single
 * scheduler step over the whole latent (MultiDiffusion), which is what keeps tiles from
 * drifting apart into visible seams.
 */
export async function upscale(
  core: DiffusionCore,
  models: { encoder: OnnxSession; upscaler: OnnxSession },
  control: JobControl,
  job: { params: ResolvedJobParams; input: Pixels; seed: number; tiles: TileOptions },
): Promise<Buffer> {
  const { params } = job;
  const [height, width] = [params.height, params.width];
  const [latentHeight, latentWidth] = [height / LATENT_FACTOR, width / LATENT_FACTOR];
  await control.stage('encoding');
  const enlarged = await superResolve(models.upscaler, job.input, width, height);
  const init = await encodeLatents(models.encoder, enlarged, core.vaeScalingFactor);

  const tileH = Math.min(job.tiles.tile, latentHeight);
  const tileW = Math.min(job.tiles.tile, latentWidth);
  const overlap = Math.min(job.tiles.overlap, Math.floor(Math.min(tileH, tileW) / 2));
  // Every tile has the same size, so one conditioning (its size ids) serves them all.
  const conditioning = await core.conditioning({
    ...params,
    width: tileW * LATENT_FACTOR,
    height: tileH * LATENT_FACTOR,
    originalSize: { width: tileW * LATENT_FACTOR, height: tileH * LATENT_FACTOR },
  });
  const grid = {
    channels: init.length / (latentHeight * latentWidth),
    height: latentHeight,
    width: latentWidth,
    tileH,
    tileW,
    overlap,
  };
  const predict = (latents: Float32Array, t: number) =>
    blendTiles(latents, grid, async (tile) => {
      control.checkAbort();
      return guide(conditioning, await core.predict(conditioning, tile, t, tileH, tileW), params);
    });

  await control.stage('sampling');
  const latents = await sampleFromImage(core, control, {
    params,
    init,
    latentHeight,
    latentWidth,
    denoise: UPSCALE_DENOISE,
    seed: job.seed,
    predict,
  });
  control.checkAbort();
  await control.stage('decoding');
  return toRgb8(await decodeLatents(core, latents, height, width), width, height);
}

export interface TileGrid {
  channels: number;
  /** The latent's size. */
  height: number;
  width: number;
  /** Every tile's size and how much neighbours share. */
  tileH: number;
  tileW: number;
  overlap: number;
}

/**
 * One prediction over the whole latent from predictions over overlapping tiles: each
 * tile's output weighted by `ramp` in both directions, summed, and divided by the summed
 * weights.
 */
export async function blendTiles(
  latents: Float32Array,
  grid: TileGrid,
  predictTile: (tile: Float32Array, top: number, left: number) => Promise<Float32Array>,
): Promise<Float32Array> {
  const { channels, height, width, tileH, tileW, overlap } = grid;
  const plane = height * width;
  const sum = new Float32Array(latents.length);
  const weights = new Float32Array(plane);
  for (const top of tileStarts(height, tileH, overlap)) {
    for (const left of tileStarts(width, tileW, overlap)) {
      const tile = new Float32Array(channels * tileH * tileW);
      for (let c = 0; c < channels; c++) {
        for (let y = 0; y < tileH; y++) {
          const from = (c * height + top + y) * width + left;
          tile.set(latents.subarray(from, from + tileW), (c * tileH + y) * tileW);
        }
      }
      const prediction = await predictTile(tile, top, left);
      for (let y = 0; y < tileH; y++) {
        const wy = ramp(y, tileH, overlap);
        for (let x = 0; x < tileW; x++) {
          const weight = wy * ramp(x, tileW, overlap);
          const at = (top + y) * width + left + x;
          weights[at] = weights[at]! + weight;
          for (let c = 0; c < channels; c++) {
            const index = c * plane + at;
            sum[index] = sum[index]! + weight * prediction[(c * tileH + y) * tileW + x]!;
          }
        }
      }
    }
  }
  for (let i = 0; i < sum.length; i++) sum[i] = sum[i]! / weights[i % plane]!;
  return sum;
}
