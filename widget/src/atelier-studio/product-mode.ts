import type { GenerationParams } from '@atelier/protocol';
import { html } from 'lit';
import type { MessageKey } from '../i18n/messages.js';

/**
 * What a studio with a product photo makes: a picture from the words alone (the default,
 * as without a photo), a new scene around the product, or variations of the photo.
 */
export type ProductMode = 'txt2img' | 'background' | 'vary-strong';

/**
 * The request for a product photo: its URL goes to the server, which fetches it only from
 * the tenant's own sites (its allowed origins and product-image hosts) and keeps the
 * product's pixels in a new scene. The output keeps the photo's shape, so no `aspectRatio`.
 */
export function productParams(
  prompt: string,
  mode: ProductMode,
  inputImageUrl: string,
  choices: Omit<GenerationParams, 'prompt'>,
): GenerationParams {
  if (mode === 'txt2img') return { prompt, ...choices };
  const { aspectRatio: _shapeOfPhoto, ...rest } = choices;
  return { prompt, ...rest, mode, inputImageUrl };
}

/** Radios in a fieldset, as the other choices are (studio-options.ts). */
export function renderProductMode(mode: ProductMode, t: (key: MessageKey) => string, onChange: (event: Event) => void) {
  const choice = (value: ProductMode, key: MessageKey) =>
    html`<label class="studio__choice"
      ><input type="radio" name="product-mode" value=${value} .checked=${mode === value} /><span>${t(key)}</span></label
    >`;
  return html`<fieldset part="product-mode" class="studio__group" @change=${onChange}>
    <legend>${t('productModeLegend')}</legend>
    <div class="studio__chips">
      ${choice('txt2img', 'productModeText')}${choice('background', 'productModeScene')}${choice('vary-strong', 'productModeVariations')}
    </div>
  </fieldset>`;
}
