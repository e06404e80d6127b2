/**
 * The script a storefront includes (`<script type="module" src="https://HOST/widget.js">`).
 * It is a few hundred bytes and imports nothing: the studio itself (Lit and all) is a
 * content-hashed file beside it, cached for a year, and fetched only when the page needs
 * it, so the widget never competes with the page's own first paint:
 * - at once for an `<atelier-studio>` in or near the viewport;
 * - when the shopper points at or focuses one;
 * - otherwise once the page has loaded and the browser is idle (a launcher, a widget
 *   further down, one added later).
 * Loading this script twice is harmless: each copy loads the same studio module once.
 */
// Its one import, tiny and run first: a returning shopper's gallery is reserved before definition.
import './atelier-studio/reserve-recent.js';

const TAG = 'atelier-studio';
/** Replaced with the hashed file name when the bundle is built (rollup.config.js). */
const STUDIO_FILE = '__ATELIER_STUDIO_FILE__';
/** How far outside the viewport a studio starts loading, so it is ready when scrolled to. */
const NEAR_VIEWPORT = '400px';
/** The longest an idle page waits for the studio after its load event. */
const IDLE_TIMEOUT_MS = 3000;

const studioUrl = new URL(STUDIO_FILE, import.meta.url).href;
let requested = false;

function load(): void {
  if (requested) return;
  requested = true;
  observer?.disconnect();
  // The studio module registers the element when it runs; a failure to fetch it leaves
  // the tag undefined, which the page's reserved space (README) keeps tidy.
  import(studioUrl).catch((error: unknown) => console.error('<atelier-studio> could not load', error));
}

const observer =
  typeof IntersectionObserver === 'function'
    ? new IntersectionObserver((entries) => entries.some((entry) => entry.isIntersecting) && load(), {
        rootMargin: NEAR_VIEWPORT,
      })
    : undefined;

if (!customElements.get(TAG)) {
  for (const element of document.querySelectorAll(TAG)) {
    if (observer) observer.observe(element);
    else load();
  }
  for (const type of ['pointerover', 'focusin', 'touchstart'] as const) {
    document.addEventListener(type, (event) => (event.target as Element | null)?.closest?.(TAG) && load(), {
      passive: true,
      capture: true,
    });
  }
  const whenIdle = () =>
    typeof requestIdleCallback === 'function' ? requestIdleCallback(load, { timeout: IDLE_TIMEOUT_MS }) : setTimeout(load, 1);
  if (document.readyState === 'complete') whenIdle();
  else addEventListener('load', whenIdle, { once: true });
}
