import { access } from 'node:fs/promises';
import { join } from 'node:path';
import { PipelineError } from '../errors/pipeline-error.js';
import { OnnxSession, type OnnxSessionOptions } from '../onnx/onnx-session.js';
import sharp from 'sharp';
import { encodePreview, mosaic, mosaicCell, toByte, type PreviewFormat, type Previewer, type RgbImage } from './preview.js';

/**
 * Where a model directory may hold a TAESD-XL decoder (madebyollin/taesdxl, exported as
 * diffusers' `AutoencoderTiny` decoder): the first that exists is used.
 */
export const TAESD_DECODER_PATHS = ['taesd_decoder/model.onnx', 'taesdxl_decoder/model.onnx', 'taesd/decoder/model.onnx'];

/** The first TAESD decoder path that exists under `modelDir`, if any. */
export async function findTaesdDecoder(modelDir: string): Promise<string | undefined> {
  for (const relative of TAESD_DECODER_PATHS) {
    const path = join(modelDir, relative);
    try {
      await access(path);
      return path;
    } catch {
      // not this one
    }
  }
  return undefined;
}

/**
 * Previews through a tiny VAE decoder. Its input is the UNet-space latent as it is
 * (AutoencoderTiny's scaling factor is 1.0), its output [1, 3, 8h, 8w] in [-1, 1] as
 * diffusers' `TinyDecoder` returns it; the picture is then scaled to fit the preview size.
 */
export class TaesdPreviewer implements Previewer {
  private constructor(
    private readonly session: OnnxSession,
    private readonly input: string,
    private readonly output: string,
    readonly every: number,
    private readonly format: PreviewFormat,
  ) {}

  static async load(path: string, every: number, format: PreviewFormat = 'jpeg', options: OnnxSessionOptions = {}) {
    const session = await OnnxSession.create(path, { ...options, label: 'taesd_decoder' });
    const [input] = session.inputs;
    const [output] = session.outputNames;
    if (!input || !input.isTensor || input.type !== 'float32' || session.inputs.length !== 1 || !output) {
      await session.release();
      throw new PipelineError('model_invalid', `${path}: a TAESD decoder takes one float32 latent and returns an image`);
    }
    return new TaesdPreviewer(session, input.name, output, every, format);
  }

  /** One decoder run per image, each picture fitted to its cell of the mosaic. */
  async render(latents: readonly Float32Array[], height: number, width: number): Promise<string> {
    const cell = mosaicCell(latents.length);
    const pictures: RgbImage[] = [];
    for (const latent of latents) pictures.push(await fit(await this.decode(latent, height, width), cell));
    return encodePreview(mosaic(pictures), this.format);
  }

  private async decode(latent: Float32Array, height: number, width: number): Promise<RgbImage> {
    const data = latent.length === 4 * height * width ? latent : latent.subarray(0, 4 * height * width);
    const { [this.output]: decoded } = await this.session.run(
      { [this.input]: { type: 'float32', data, dims: [1, 4, height, width] } },
      [this.output],
    );
    if (!decoded || decoded.type !== 'float32' || decoded.dims.length !== 4 || decoded.dims[1] !== 3) {
      throw new PipelineError('model_invalid', `taesd_decoder returned ${decoded ? `[${decoded.dims.join(',')}]` : 'nothing'}`);
    }
    const [, , outHeight, outWidth] = decoded.dims as [number, number, number, number];
    const plane = outHeight * outWidth;
    const rgb = Buffer.allocUnsafe(plane * 3);
    for (let c = 0; c < 3; c++) {
      const offset = c * plane;
      for (let p = 0, at = c; p < plane; p++, at += 3) rgb[at] = toByte(decoded.data[offset + p]!);
    }
    return { rgb, width: outWidth, height: outHeight };
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}

/** `image` scaled down to fit `size` × `size` (as it is when it already fits). */
async function fit(image: RgbImage, size: number): Promise<RgbImage> {
  if (image.width <= size && image.height <= size) return image;
  const { data, info } = await sharp(image.rgb, { raw: { width: image.width, height: image.height, channels: 3 } })
    .resize(size, size, { fit: 'inside' })
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { rgb: data, width: info.width, height: info.height };
}
