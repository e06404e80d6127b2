import { css, unsafeCSS } from 'lit';

/** sRGB channel (0–255) to linear light; the curve's linear toe is below any visible difference here. */
const linear = (channel: string) => `pow((${channel} / 255 + 0.055) / 1.055, 2.4)`;
/** 255 when the accent's luminance is at most 0.179 (white text), else 0 (black). */
const onAccent = unsafeCSS(
  `clamp(0, (0.179 - (0.2126 * ${linear('r')} + 0.7152 * ${linear('g')} + 0.0722 * ${linear('b')})) * 1e6, 255)`,
);

/**
 * Dark defaults, shared by `theme="dark"` and `theme="auto"` under a dark OS setting.
 * Every colour goes through a private `--_x: var(--atelier-x, default)` so that a
 * page setting `--atelier-x` anywhere above the element (even on :root) wins in
 * every theme: the widget never declares the public tokens itself. Between the two
 * sits the tenant's saved theme (`--_tenant-x`, tenant-theme.ts). Its palette is a
 * light one, so only its accent carries over to the dark theme: its background and
 * text colours on dark defaults (or the reverse) would be unreadable.
 */
const dark = css`
  --_bg: var(--atelier-background, #18181b);
  --_surface: var(--atelier-surface, #27272a);
  --_text: var(--atelier-text, #fafafa);
  --_muted: var(--atelier-muted, #a1a1aa);
  --_border: var(--atelier-border, #3f3f46);
  --_danger: var(--atelier-danger, #f87171);
  --_accent: var(--atelier-accent, var(--_tenant-accent, #818cf8));
  --_accent-contrast: var(--atelier-accent-contrast, var(--_tenant-accent-contrast, #18181b));
  color-scheme: dark;
`;

export const styles = css`
  :host {
    --_bg: var(--atelier-background, var(--_tenant-background, #ffffff));
    --_surface: var(--atelier-surface, var(--_tenant-surface, #f4f4f5));
    --_text: var(--atelier-text, var(--_tenant-text, #18181b));
    --_muted: var(--atelier-muted, var(--_tenant-muted, #52525b));
    --_border: var(--atelier-border, var(--_tenant-border, #d4d4d8));
    --_danger: var(--atelier-danger, var(--_tenant-danger, #b91c1c));
    --_accent: var(--atelier-accent, var(--_tenant-accent, #4f46e5));
    --_accent-contrast: var(--atelier-accent-contrast, var(--_tenant-accent-contrast, #ffffff));
    --_radius: var(--atelier-radius, var(--_tenant-radius, 12px));
    /* Spacing factor: 1 comfortable, 0.75 compact (the tenant's density, unless the page sets one). */
    --_d: var(--atelier-density, var(--_tenant-density, 1));
    display: block;
    color-scheme: light;
    /* Both undefined → invalid at computed time → inherited: the storefront's font. */
    font-family: var(--atelier-font, var(--_tenant-font));
  }

  :host([theme='dark']) {
    ${dark}
  }

  @media (prefers-color-scheme: dark) {
    :host([theme='auto']) {
      ${dark}
    }
  }

  :host([hidden]),
  [hidden] {
    display: none !important;
  }

  *,
  *::before,
  *::after {
    box-sizing: border-box;
  }

  .studio {
    display: grid;
    gap: calc(0.75rem * var(--_d));
    padding: calc(1rem * var(--_d));
    background: var(--_bg);
    color: var(--_text);
    border: 1px solid var(--_border);
    border-radius: var(--_radius);
    line-height: 1.4;
  }

  .studio__form {
    display: grid;
    gap: calc(0.5rem * var(--_d));
  }

  /* Two label lines tall with or without the tenant's logo, so neither the logo arriving
     with welcome nor the label wrapping beside it (or changing language) moves anything:
     the label keeps its top edge. */
  .studio__header {
    display: flex;
    align-items: start;
    justify-content: space-between;
    gap: 0.75rem;
    min-height: 2.8em;
  }

  .studio__label {
    min-width: 0;
    font-weight: 600;
  }

  .studio__logo {
    display: block;
    flex: none;
    max-width: 7rem;
    height: 2.8em;
    object-fit: contain;
  }

  .studio__prompt {
    width: 100%;
    min-height: 4.6em;
    padding: calc(0.6rem * var(--_d)) 0.75rem;
    resize: vertical;
    font: inherit;
    /* Below 16px, iOS zooms the page when the field takes focus. */
    font-size: max(16px, 1em);
    color: var(--_text);
    background: var(--_bg);
    border: 1px solid var(--_border);
    border-radius: calc(var(--_radius) * 0.66);
  }

  .studio__prompt[aria-invalid='true'] {
    border-color: var(--_danger);
  }

  .studio__prompt:focus-visible,
  .studio__generate:focus-visible,
  .studio__pick:focus-visible {
    outline: 2px solid var(--_accent);
    outline-offset: 2px;
  }

  .studio__options {
    display: grid;
    gap: calc(0.6rem * var(--_d));
    min-width: 0;
  }

  .studio__group {
    min-width: 0;
    margin: 0;
    padding: 0;
    border: 0;
  }

  .studio__group legend,
  .studio__legend {
    margin-block-end: 0.2rem;
    padding: 0;
    font-size: 0.9em;
    font-weight: 600;
  }

  /* One row that scrolls sideways on a phone; the padding keeps focus rings inside it. */
  .studio__chips {
    display: flex;
    gap: calc(0.4rem * var(--_d));
    padding: 4px;
    overflow-x: auto;
    scrollbar-width: thin;
  }

  /* A flex box, so a chip is as tall whatever the font's ascent and descent. */
  .studio__choice {
    position: relative;
    display: flex;
    flex: none;
  }

  .studio__choice input {
    position: absolute;
    inset: 0;
    margin: 0;
    opacity: 0;
    cursor: pointer;
  }

  .studio__choice span {
    display: inline-flex;
    align-items: center;
    gap: 0.4em;
    /* 36px at a 16px font: a touch target, and a row height that grows with the font only. */
    min-height: calc(2.5em * var(--_d));
    padding: calc(0.3rem * var(--_d)) calc(0.8rem * var(--_d));
    font-size: 0.9em;
    white-space: nowrap;
    color: var(--_text);
    background: var(--_bg);
    border: 1px solid var(--_border);
    border-radius: 999px;
  }

  /* Picked: a ring and a tick, so the state never rests on colour alone. */
  .studio__choice input:checked + span {
    font-weight: 600;
    border-color: var(--_accent);
    box-shadow: inset 0 0 0 1px var(--_accent);
  }

  .studio__choice input:checked + span::before {
    content: '✓';
  }

  .studio__choice input:focus-visible + span,
  .studio__more summary:focus-visible {
    outline: 2px solid var(--_accent);
    outline-offset: 2px;
  }

  .studio__shape {
    display: inline-block;
    height: 1em;
    border: 2px solid currentColor;
    border-radius: 2px;
  }

  .studio__shape--shapeSquare {
    aspect-ratio: 1;
  }
  .studio__shape--shapePortrait {
    aspect-ratio: 896 / 1152;
  }
  .studio__shape--shapeLandscape {
    aspect-ratio: 1152 / 896;
  }
  .studio__shape--shapeTall {
    aspect-ratio: 768 / 1344;
  }
  .studio__shape--shapeWide {
    aspect-ratio: 1344 / 768;
  }

  .studio__more {
    font-size: 0.95em;
  }

  .studio__more summary,
  .studio__summary {
    padding: calc(0.4rem * var(--_d)) 0;
    cursor: pointer;
  }

  .studio__more[open] {
    display: grid;
    gap: calc(0.6rem * var(--_d));
  }

  /* Until welcome: the style and options rows' room, invisible (studio-options.ts). */
  .studio__skeleton {
    display: contents;
    visibility: hidden;
  }

  /* At the start edge and as wide as its words: a label changing with the tenant's strings
     or the language (at welcome, or through the iframe bridge) keeps its place. Centred,
     the words would move, which counts as a layout shift. */
  .studio__generate {
    justify-self: start;
    min-height: calc(44px * var(--_d)); /* a comfortable touch target */
    padding: calc(0.7rem * var(--_d)) 1.25rem;
    font: inherit;
    font-weight: 600;
    color: var(--_accent-contrast);
    /* Unless the page chose the text colour: black or white, whichever is more legible on
       the accent (WCAG relative luminance above 0.179 takes black). One of the two always
       reaches 4.58:1, so no tenant accent makes the button unreadable (a tenant's own
       accent contrast is only the fallback). Relative colour syntax works it out from any
       CSS colour; where it is unsupported, the line above holds. */
    color: var(--atelier-accent-contrast, rgb(from var(--_accent) ${onAccent} ${onAccent} ${onAccent}));
    background: var(--_accent);
    border: 0;
    border-radius: calc(var(--_radius) * 0.66);
    cursor: pointer;
  }

  .studio__generate[aria-disabled='true'] {
    opacity: 0.55;
    cursor: not-allowed;
  }

  .studio__progress {
    height: 6px;
    overflow: hidden;
    background: var(--_surface);
    border-radius: 999px;
  }

  .studio__progress-bar {
    height: 100%;
    background: var(--_accent);
    transform-origin: left;
    transition: transform 0.3s ease-out;
  }

  /* The bar fills from the start edge: the right one in right-to-left pages. */
  .studio__progress-bar:dir(rtl) {
    transform-origin: right;
  }

  .studio__progress--waiting .studio__progress-bar {
    transform: scaleX(1) !important;
    opacity: 0.25;
    animation: studio-pulse 1.6s ease-in-out infinite;
  }

  @keyframes studio-pulse {
    50% {
      opacity: 0.6;
    }
  }

  /* Status and error share a box two lines tall, so text coming and going does not
     move anything below it. */
  .studio__messages {
    min-height: 2.8em;
    font-size: 0.9em;
  }

  .studio__status,
  .studio__error {
    margin: 0;
  }

  .studio__status {
    color: var(--_muted);
  }

  .studio__error {
    color: var(--_danger);
    font-weight: 600;
  }

  /* The canvas keeps its size from the first paint: product photo, live preview and
     results all appear inside it, so nothing on the page shifts. */
  .studio__canvas {
    position: relative;
    aspect-ratio: var(--atelier-canvas-aspect-ratio, 1);
    overflow: hidden;
    background: var(--_surface);
    border-radius: calc(var(--_radius) * 0.66);
  }

  .studio__canvas > img,
  .studio__results {
    position: absolute;
    inset: 0;
    width: 100%;
    height: 100%;
  }

  .studio__canvas > img {
    object-fit: contain;
  }

  .studio__empty {
    display: grid;
    place-items: center;
    height: 100%;
    margin: 0;
    padding: 1rem;
    color: var(--_muted);
    text-align: center;
  }

  .studio__results {
    display: grid;
    grid-template-columns: 1fr;
    gap: 4px;
  }

  .studio__results--many {
    grid-template-columns: 1fr 1fr;
  }

  .studio__pick {
    min-width: 0;
    min-height: 0;
    padding: 0;
    background: none;
    border: 0;
    cursor: pointer;
  }

  /* Inside the button: the canvas clips anything drawn outside it. */
  .studio__pick:focus-visible {
    outline-offset: -3px;
  }

  .studio__announce {
    position: absolute;
    width: 1px;
    height: 1px;
    overflow: hidden;
    clip-path: inset(50%);
    white-space: nowrap;
  }

  .studio__pick[aria-pressed='true'] {
    box-shadow: inset 0 0 0 3px var(--_accent);
  }

  .studio__pick img {
    display: block;
    width: 100%;
    height: 100%;
    object-fit: contain;
  }

  .studio__pick[aria-pressed='true'] img {
    padding: 3px;
  }

  /* Iframe mode: until its page reports its own height, the frame reserves what the
     embedded studio will take: as wide as the frame, plus its rows at the embed page's
     16px font (395.24px, see the README), rounded up to a whole pixel as the page
     reports its height. */
  :host([mode='iframe']) {
    container-type: inline-size;
  }

  .studio__frame {
    display: block;
    width: 100%;
    height: round(up, 100cqi + 395.24px, 1px);
    border: 0;
  }

  /* Launcher mode: the element takes no room where it is placed; its button floats in
     the viewport's end corner (left in right-to-left pages). */
  .studio__launcher {
    position: fixed;
    inset-block-end: var(--atelier-launcher-offset, 1.25rem);
    inset-inline-end: var(--atelier-launcher-offset, 1.25rem);
    z-index: 2147483000;
    min-height: 48px;
    padding: 0.75rem 1.25rem;
    font: inherit;
    font-weight: 600;
    color: var(--atelier-accent-contrast, rgb(from var(--_accent) ${onAccent} ${onAccent} ${onAccent}));
    background: var(--_accent);
    border: 0;
    border-radius: 999px;
    box-shadow: 0 4px 16px rgb(0 0 0 / 0.25);
    cursor: pointer;
  }

  .studio__launcher:focus-visible,
  .studio__close:focus-visible {
    outline: 2px solid var(--_text);
    outline-offset: 3px;
  }

  .studio__dialog {
    width: min(32rem, 100vw);
    max-height: 100dvh;
    padding: 0;
    color: var(--_text);
    background: none;
    border: 0;
    overflow: auto;
  }

  .studio__dialog::backdrop {
    background: rgb(0 0 0 / 0.5);
  }

  .studio__dialog .studio {
    padding-block-start: 3rem;
  }

  .studio__close {
    position: absolute;
    inset-block-start: 0.5rem;
    inset-inline-end: 0.5rem;
    width: 44px;
    height: 44px;
    font-size: 1.5rem;
    line-height: 1;
    color: var(--_text);
    background: none;
    border: 0;
    border-radius: 999px;
    cursor: pointer;
  }

  /* On a phone the dialog is the whole screen. */
  @media (max-width: 32rem) {
    .studio__dialog {
      width: 100vw;
      max-width: 100vw;
      height: 100dvh;
      margin: 0;
    }

    .studio__dialog .studio {
      min-height: 100%;
      border-radius: 0;
    }
  }

  @media (prefers-reduced-motion: reduce) {
    .studio__progress-bar {
      transition: none;
      animation: none !important;
    }
  }
`;
