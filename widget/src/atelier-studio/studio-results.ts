import {
  type GenerationParams,
  type PublicImage,
  RUNNER_MAX_IMAGE_PIXELS,
  UPSCALE_FACTORS,
  type UpscaleFactor,
} from '@atelier/protocol';
import { html, nothing } from 'lit';
import type { MessageKey, MessageValues } from '../i18n/messages.js';

/** One generation in the gallery, newest first. */
export interface GalleryItem {
  /** The generation id. */
  id: string;
  prompt: string;
  /** Null while a remembered generation is being asked for again (its tile keeps its place). */
  images: readonly PublicImage[] | null;
}

export type ResultAction = 'vary-subtle' | 'vary-strong' | 'upscale' | 'select';

type Translate = (key: MessageKey, values?: MessageValues) => string;

/**
 * Only the factors whose result the shop's plan allows and a runner can make: an
 * upscaled upscale may be too large, and a smaller plan may upscale less or not at all.
 */
function upscaleFactors(image: PublicImage, maxPixels = RUNNER_MAX_IMAGE_PIXELS): UpscaleFactor[] {
  const most = Math.min(maxPixels, RUNNER_MAX_IMAGE_PIXELS);
  return UPSCALE_FACTORS.filter((f) => image.width * f * image.height * f <= most).reverse();
}

/** A new job from a result: the same description, the result as its input. */
export function resultParams(prompt: string, image: PublicImage, action: ResultAction, factor: number): GenerationParams {
  const params: GenerationParams = { prompt, mode: action as GenerationParams['mode'], inputImageId: image.id };
  return action === 'upscale' ? { ...params, upscaleFactor: factor as UpscaleFactor } : params;
}

/** `a-lamp-on-a-walnut-desk-img_….png`: the description says what it is, the id keeps names apart. */
export function fileName(prompt: string, image: PublicImage): string {
  const words = prompt
    .toLowerCase()
    .normalize('NFKD')
    .replace(/[^\p{L}\p{N}]+/gu, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 60);
  return `${words ? `${words}-` : ''}${image.id}.${image.format === 'jpeg' ? 'jpg' : image.format}`;
}

/**
 * Saves the picture under its file name. Image URLs are on the Atelier server, another
 * origin, where the `download` attribute is ignored; fetched as a blob (the files are
 * CORS-open) it downloads from this page. Answers false when the fetch failed.
 */
export async function download(url: string, name: string): Promise<boolean> {
  try {
    const response = await fetch(url);
    if (!response.ok) return false;
    const link = document.createElement('a');
    link.href = URL.createObjectURL(await response.blob());
    link.download = name;
    link.click();
    setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
    return true;
  } catch {
    return false;
  }
}

/** A tile keeping its place: a remembered picture being asked for again, or one being made. */
const loadingTile = html`<li class="studio__tile studio__tile--loading" aria-hidden="true"></li>`;

/**
 * The shopper's recent pictures, each with its actions: vary (subtle, strong), upscale
 * (each factor a runner can make, 2× first), download and select. Plain buttons and a
 * link in a labelled group per picture, so a keyboard reaches each in order; while a
 * job runs they stay focusable but say `aria-disabled`. With `held`, the row stays while
 * empty (a tile in the making while a job runs). `maxPixels`: the plan's largest picture.
 */
export function renderGallery(
  items: readonly GalleryItem[],
  busy: boolean,
  selectedId: string | null,
  t: Translate,
  held = false,
  maxPixels?: number,
) {
  if (items.length === 0 && !held) return nothing;
  const disabled = busy ? 'true' : 'false';
  const action = (item: GalleryItem, image: PublicImage, name: ResultAction, label: string, factor = 0) =>
    html`<button type="button" part="action" class="studio__action" data-item=${item.id} data-image=${image.id}
      data-action=${name} data-factor=${factor} aria-disabled=${disabled}
      aria-pressed=${name === 'select' ? String(image.id === selectedId) : nothing}>${label}</button>`;
  return html`<section part="gallery" class="studio__gallery" aria-label=${t('recentLabel')}>
    <ul class="studio__tiles">
      ${items.map((item) =>
        item.images
          ? item.images.map(
              (image, n) =>
                html`<li class="studio__tile">
                  <img part="recent" src=${image.url} width=${image.width} height=${image.height} loading="lazy"
                    alt=${item.prompt} />
                  <div class="studio__actions" role="group" aria-label=${t('resultActions', { n: n + 1, prompt: item.prompt })}>
                    ${action(item, image, 'vary-subtle', t('varySubtle'))}${action(item, image, 'vary-strong', t('varyStrong'))}
                    ${upscaleFactors(image, maxPixels).map((f) => action(item, image, 'upscale', t('upscale', { factor: f }), f))}
                    <a part="action" class="studio__action" href=${image.url} download=${fileName(item.prompt, image)}
                      data-item=${item.id} data-image=${image.id}>${t('download')}</a>
                    ${action(item, image, 'select', t('select'))}
                  </div>
                </li>`,
            )
          : loadingTile,
      )}
      ${items.length === 0 && busy ? loadingTile : nothing}
    </ul>
  </section>`;
}
