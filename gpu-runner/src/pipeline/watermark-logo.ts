import sharp from 'sharp';
import type { Watermark } from '@atelier/protocol';
import { PipelineError } from '../errors/pipeline-error.js';
import type { LocalAsset } from '../runner/asset-cache.js';
import { placement, watermarkMargin } from './watermark.js';

/** Straight (not premultiplied) 8-bit RGBA. */
export interface RgbaImage {
  data: Buffer;
  width: number;
  height: number;
}

/**
 * The tenant's logo from the job's `logo` asset (an upload the server signed for this job;
 * never a URL from configuration), decoded once per job.
 */
export async function readLogo(mark: Watermark, assets: readonly LocalAsset[]): Promise<RgbaImage | undefined> {
  if (mark.logoAssetId === undefined) return undefined;
  const asset = assets.find((file) => file.kind === 'logo' && file.id === mark.logoAssetId);
  if (!asset)
    throw new PipelineError('invalid_params', `the watermark names logo ${mark.logoAssetId}, which the job's assets lack`);
  try {
    const { data, info } = await sharp(asset.path).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
    return { data, width: info.width, height: info.height };
  } catch (error) {
    throw new PipelineError('invalid_params', `the watermark logo ${mark.logoAssetId} is not a readable image`, { cause: error });
  }
}

/**
 * The logo at the size it is drawn on a `width` × `height` image: `scale` of the image's
 * height tall, narrower when that would not fit between the margins.
 */
export async function logoStamp(logo: RgbaImage, width: number, height: number, mark: Watermark): Promise<RgbaImage> {
  const margin = watermarkMargin(width, height);
  let stampHeight = Math.max(1, Math.round(mark.scale * height));
  let stampWidth = Math.max(1, Math.round((logo.width * stampHeight) / logo.height));
  const room = Math.max(1, width - 2 * margin);
  if (stampWidth > room) {
    stampHeight = Math.max(1, Math.round((stampHeight * room) / stampWidth));
    stampWidth = room;
  }
  const { data, info } = await sharp(logo.data, { raw: { width: logo.width, height: logo.height, channels: 4 } })
    .resize(stampWidth, stampHeight, { fit: 'fill', kernel: 'lanczos3' })
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height };
}

/**
 * Blends the sized logo into 8-bit RGB pixels, in place, at `mark.position` inset by the
 * same margin as a text watermark; each pixel's alpha times `opacity` decides how much of
 * the logo shows.
 */
export function applyLogoWatermark(rgb: Buffer, width: number, height: number, mark: Watermark, stamp: RgbaImage): void {
  const margin = watermarkMargin(width, height);
  const [horizontal, vertical] = placement(mark.position);
  const left =
    horizontal === 'left' ? margin : horizontal === 'right' ? width - margin - stamp.width : (width - stamp.width) >> 1;
  const top = vertical === 'top' ? margin : vertical === 'bottom' ? height - margin - stamp.height : (height - stamp.height) >> 1;
  for (let y = 0; y < stamp.height; y++) {
    const ty = top + y;
    if (ty < 0 || ty >= height) continue;
    for (let x = 0; x < stamp.width; x++) {
      const tx = left + x;
      if (tx < 0 || tx >= width) continue;
      const from = (y * stamp.width + x) * 4;
      const alpha = (stamp.data[from + 3]! / 255) * mark.opacity;
      if (alpha === 0) continue;
      const at = (ty * width + tx) * 3;
      for (let c = 0; c < 3; c++) rgb[at + c] = Math.round(rgb[at + c]! * (1 - alpha) + stamp.data[from + c]! * alpha);
    }
  }
}
