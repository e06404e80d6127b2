/**
 * The script a storefront includes (`<script type="module" src="https://HOST/widget.js">`).
 * It is a few hundred bytes and imports nothing: the studio itself (Lit and all) is a
 * content-hashed file beside it, cached for a year. The page comes first: nothing is
 * fetched before its load event and an idle moment after it (or IDLE_TIMEOUT_MS, on a
 * page that is never idle). From then on the studio is fetched for the first
 * `<atelier-studio>` that is on screen (within NEAR_VIEWPORT), that the shopper presses,
 * focuses or types into, or that is a launcher (its button floats in the viewport's
 * corner once defined, wherever the tag sits). A product page whose shopper never scrolls
 * to the studio never loads it. Elements added later count as well.
 * Loading this script twice is harmless: each copy loads the same studio module once.
 */
// Its one import, tiny and run first: a returning shopper's gallery is reserved before definition.
import './atelier-studio/reserve-recent.js';

const TAG = 'atelier-studio';
/** Replaced with the hashed file name when the bundle is built (rollup.config.js). */
const STUDIO_FILE = '__ATELIER_STUDIO_FILE__';
/**
 * How far below (and above) the viewport a studio counts as on screen. Small on purpose:
 * the fetch starts after the page's load anyway, so this is only a look-ahead for a
 * shopper who scrolls, and every pixel of it loads the studio for shoppers who never get
 * there. A quarter of a screen is about what a slow scroll covers while the cached studio
 * evaluates and renders (0.2–0.4 s on a mid-range phone); a fling outruns any margin and
 * sees the page's reserved room for that moment, which holds still (README, layout shift).
 */
const NEAR_VIEWPORT = '25% 0px';
/** The longest the studio waits for an idle moment after the page's load event. */
const IDLE_TIMEOUT_MS = 2000;
/** What a shopper does to a studio that loads it at once (once the page has loaded). */
const INTENT_EVENTS = ['pointerdown', 'focusin', 'keydown'] as const;

const studioUrl = new URL(STUDIO_FILE, import.meta.url).href;
const studios = document.getElementsByTagName(TAG);
let requested = false;
let stopWatching = (): void => undefined;

function load(): void {
  if (requested) return;
  requested = true;
  stopWatching();
  for (const type of INTENT_EVENTS) document.removeEventListener(type, onIntent, true);
  // The studio module registers the element when it runs; a failure to fetch it leaves
  // the tag undefined, which the page's reserved space (README) keeps tidy.
  import(studioUrl).catch((error: unknown) => console.error('<atelier-studio> could not load', error));
}

/** The page's load event, then an idle callback (or a timer where there is none). */
const pageLoaded = new Promise<void>((resolve) => {
  const whenIdle = () =>
    typeof requestIdleCallback === 'function'
      ? requestIdleCallback(() => resolve(), { timeout: IDLE_TIMEOUT_MS })
      : setTimeout(resolve, 1);
  if (document.readyState === 'complete') whenIdle();
  else addEventListener('load', whenIdle, { once: true });
});

function onIntent(event: Event): void {
  if ((event.target as Element | null)?.closest?.(TAG)) void pageLoaded.then(load);
}

/** Observes every studio on the page, now and as they are added; loads at once for a launcher. */
function watch(): void {
  if (typeof IntersectionObserver !== 'function') return load();
  const visible = new IntersectionObserver((entries) => entries.some((entry) => entry.isIntersecting) && load(), {
    rootMargin: NEAR_VIEWPORT,
  });
  const observed = new WeakSet<Element>();
  const observeAll = () => {
    for (const studio of studios) {
      if (studio.getAttribute('mode') === 'launcher') return load();
      if (observed.has(studio)) continue;
      observed.add(studio);
      visible.observe(studio);
    }
  };
  // A live collection: a page's own mutations cost one length check each, not a query.
  const added = new MutationObserver(observeAll);
  stopWatching = () => {
    visible.disconnect();
    added.disconnect();
  };
  added.observe(document, { childList: true, subtree: true });
  observeAll();
}

if (!customElements.get(TAG)) {
  for (const type of INTENT_EVENTS) document.addEventListener(type, onIntent, { passive: true, capture: true });
  void pageLoaded.then(() => requested || watch());
}
