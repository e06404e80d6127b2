import type { AspectRatio, GenerationParams, Performance, WidgetConfig } from '@atelier/protocol';
import { html, nothing } from 'lit';
import type { MessageKey } from '../i18n/messages.js';

/** What the shopper picked besides the prompt; sent with every request. */
export interface Choices {
  readonly styles: readonly string[];
  readonly aspectRatio: AspectRatio;
  readonly performance: Performance;
  readonly imageCount: number;
}

/**
 * The shapes a shopper chooses between: five named ones rather than SDXL's 26
 * resolutions, each the trained resolution closest to a familiar format.
 */
const SHAPES: readonly { ratio: AspectRatio; key: MessageKey }[] = [
  { ratio: '1024x1024', key: 'shapeSquare' },
  { ratio: '896x1152', key: 'shapePortrait' },
  { ratio: '1152x896', key: 'shapeLandscape' },
  { ratio: '768x1344', key: 'shapeTall' },
  { ratio: '1344x768', key: 'shapeWide' },
];

const PERFORMANCE_KEYS: Record<Performance, MessageKey> = {
  quality: 'performanceQuality',
  speed: 'performanceSpeed',
  'extreme-speed': 'performanceExtremeSpeed',
  lightning: 'performanceLightning',
};

/** The most pictures one request may ask for in the widget, whatever the plan allows. */
const MAX_COUNT = 4;

/** Where the shopper starts: the tenant's defaults (a server's config is trusted to name real values). */
export function initialChoices(config: WidgetConfig): Choices {
  return {
    styles: config.defaultStyles ?? [],
    aspectRatio: config.defaultAspectRatio as AspectRatio,
    performance: config.defaultPerformance as Performance,
    imageCount: 1,
  };
}

/**
 * The request's parameters for these choices. Styles go only when the studio offered
 * some: an empty list would otherwise replace the tenant's default styles with none.
 */
export function choiceParams(config: WidgetConfig | null, choices: Choices | null): Omit<GenerationParams, 'prompt'> {
  if (!config || !choices) return {};
  const { styles, aspectRatio, performance, imageCount } = choices;
  return { ...(config.styles?.length && { styles: [...styles] }), aspectRatio, performance, imageCount };
}

/** The choices after one control changed (`name` and `value` of the input). */
export function applyChoice(choices: Choices, input: HTMLInputElement): Choices {
  switch (input.name) {
    case 'style':
      return {
        ...choices,
        styles: input.checked ? [...choices.styles, input.value] : choices.styles.filter((name) => name !== input.value),
      };
    case 'shape':
      return { ...choices, aspectRatio: input.value as AspectRatio };
    case 'performance':
      return { ...choices, performance: input.value as Performance };
    case 'count':
      return { ...choices, imageCount: Number(input.value) };
    default:
      return choices;
  }
}

/**
 * Until welcome says what the tenant offers: the room of a row of style chips and of the
 * "More options" line, in the same boxes with nothing visible in them, so nothing below
 * moves when the real rows arrive. (A tenant that offers one style only, or one choice
 * of everything else, loses that row's room at welcome; by default both are offered.)
 */
const SKELETON = html`<div class="studio__skeleton" aria-hidden="true">
  <div class="studio__group">
    <div class="studio__legend">&nbsp;</div>
    <div class="studio__chips"><span class="studio__choice"><span>&nbsp;</span></span></div>
  </div>
  <div class="studio__more"><div class="studio__summary">&nbsp;</div></div>
</div>`;

type Translate = (key: MessageKey, values?: Record<string, string | number>) => string;

function radio(name: string, value: string, checked: boolean, label: unknown) {
  return html`<label class="studio__choice"
    ><input type="radio" name=${name} value=${value} .checked=${checked} /><span>${label}</span></label
  >`;
}

/**
 * Style chips (always in sight: they change the picture most), then the shape, the
 * performance preset and the number of pictures behind "More options". Each group is a
 * native fieldset of checkboxes or radios, so keyboards, screen readers and forms work
 * as they do everywhere; a group with one possible answer is not shown.
 */
export function renderOptions(config: WidgetConfig | null, choices: Choices | null, t: Translate) {
  if (!config || !choices) return SKELETON;
  const styles = config.styles ?? [];
  const shapes = SHAPES.filter((shape) => config.aspectRatios.includes(shape.ratio));
  const counts = Array.from({ length: Math.min(config.maxImages ?? 1, MAX_COUNT) }, (_, n) => n + 1);
  const performances = config.performances as Performance[];
  return html`
    ${
      styles.length > 0
        ? html`<fieldset part="styles" class="studio__group">
          <legend>${t('stylesLegend')}</legend>
          <div class="studio__chips">
            ${styles.map(
              (name) =>
                html`<label class="studio__choice"
                  ><input type="checkbox" name="style" value=${name} .checked=${choices.styles.includes(name)} /><span
                    >${name}</span
                  ></label
                >`,
            )}
          </div>
        </fieldset>`
        : nothing
    }
    ${
      shapes.length > 1 || performances.length > 1 || counts.length > 1
        ? html`<details part="options" class="studio__more">
          <summary>${t('moreOptions')}</summary>
          ${
            shapes.length > 1
              ? html`<fieldset class="studio__group">
                <legend>${t('shapeLegend')}</legend>
                <div class="studio__chips">
                  ${shapes.map(({ ratio, key }) =>
                    radio(
                      'shape',
                      ratio,
                      choices.aspectRatio === ratio,
                      html`<i class="studio__shape studio__shape--${key}"></i>${t(key)}`,
                    ),
                  )}
                </div>
              </fieldset>`
              : nothing
          }
          ${
            performances.length > 1
              ? html`<fieldset class="studio__group">
                <legend>${t('performanceLegend')}</legend>
                <div class="studio__chips">
                  ${performances.map((id) =>
                    radio('performance', id, choices.performance === id, PERFORMANCE_KEYS[id] ? t(PERFORMANCE_KEYS[id]) : id),
                  )}
                </div>
              </fieldset>`
              : nothing
          }
          ${
            counts.length > 1
              ? html`<fieldset class="studio__group">
                <legend>${t('countLegend')}</legend>
                <div class="studio__chips">
                  ${counts.map((n) => radio('count', String(n), choices.imageCount === n, String(n)))}
                </div>
              </fieldset>`
              : nothing
          }
        </details>`
        : nothing
    }
  `;
}
