import type { ResolvedJobParams } from '@atelier/protocol';
import type { LocalAsset } from '../runner/asset-cache.js';
import type { OutputClassifier } from '../safety/output-classifier.js';
import { screenOutput } from '../safety/screen-output.js';
import { encodeImage } from './image-output.js';
import { logoStamp, readLogo, type RgbaImage } from './watermark-logo.js';

/** Turns a job's 8-bit RGB result into the bytes that leave the runner. */
export type FinishImage = (rgb: Buffer, width: number, height: number) => Promise<Buffer>;

/**
 * The one way out for a job's results: the output classifier first (a refused image is
 * never watermarked, encoded or sent), then the tenant's watermark, text or logo, then the
 * encoding with provenance. The logo is decoded once per job and sized once per image size.
 */
export async function imageFinisher(
  params: ResolvedJobParams,
  assets: readonly LocalAsset[],
  classifier: OutputClassifier | undefined,
): Promise<FinishImage> {
  const mark = params.watermark;
  const logo = mark ? await readLogo(mark, assets) : undefined;
  const stamps = new Map<string, Promise<RgbaImage>>();
  return async (rgb, width, height) => {
    await screenOutput(classifier, rgb, width, height, params.nsfwThreshold);
    let stamp: RgbaImage | undefined;
    if (logo && mark) {
      const size = `${width}x${height}`;
      let sized = stamps.get(size);
      if (!sized) stamps.set(size, (sized = logoStamp(logo, width, height, mark)));
      stamp = await sized;
    }
    return encodeImage(rgb, width, height, params, stamp);
  };
}
