import type { PublicImage } from '@atelier/protocol';
import type { ReactiveController, ReactiveControllerHost } from 'lit';

/** The soonest a refresh runs again: a page whose clock runs far ahead would otherwise never rest. */
const MIN_DELAY_MS = 2000;
/** With a clock so far off that fresh links look expired already, asking more often cannot help. */
const SKEWED_CLOCK_DELAY_MS = 5 * 60_000;

/** When a signed link stops working (its `expires`, Unix seconds); NaN for a link that does not expire. */
function expiresAt(url: string): number {
  try {
    return Number(new URL(url).searchParams.get('expires')) * 1000 || NaN;
  } catch {
    return NaN;
  }
}

/**
 * Keeps the gallery's signed image links working on a page left open: halfway through the
 * shortest remaining life of the links on screen it asks for them again (`watch`, which
 * answers with fresh ones), so Download and a picked picture's link never use a dead one.
 * Halfway, not just before: the shopper's clock may be minutes off the server's.
 */
export class UrlRefresh implements ReactiveController {
  private timer: ReturnType<typeof setTimeout> | undefined;
  private images: readonly PublicImage[] = [];

  constructor(
    host: ReactiveControllerHost,
    private readonly refresh: () => void,
  ) {
    host.addController(this);
  }

  /** Plans the next refresh for the links now on screen (none: no refresh). */
  schedule(images: readonly PublicImage[]): void {
    this.images = images;
    clearTimeout(this.timer);
    const soonest = Math.min(...images.map((image) => expiresAt(image.url)).filter((at) => !Number.isNaN(at)));
    if (soonest === Infinity) return;
    const left = soonest - Date.now();
    this.timer = setTimeout(this.refresh, left > 0 ? Math.max(MIN_DELAY_MS, left / 2) : SKEWED_CLOCK_DELAY_MS);
  }

  hostConnected(): void {
    this.schedule(this.images);
  }

  hostDisconnected(): void {
    clearTimeout(this.timer);
  }
}
