import {
  EMBED_FORWARDED_ATTRIBUTES,
  EMBED_MESSAGE_SOURCE,
  EMBED_PATH,
  EMBED_URL_ATTRIBUTES,
  type EmbedEventName,
  type EmbedForwardedAttribute,
  type HostToEmbedMessage,
  isEmbedToHostMessage,
} from '@atelier/protocol';
import type { ReactiveController, ReactiveControllerHost } from 'lit';
import { AtelierCompleteEvent } from '../events/atelier-complete.js';
import { AtelierErrorEvent } from '../events/atelier-error.js';
import { AtelierProgressEvent } from '../events/atelier-progress.js';
import { AtelierSelectEvent } from '../events/atelier-select.js';
import { AtelierStartEvent } from '../events/atelier-start.js';

/** Each bridged event becomes the same class the inline studio fires, with the same detail. */
const EVENTS: Record<EmbedEventName, new (detail: never) => Event> = {
  'atelier-start': AtelierStartEvent,
  'atelier-progress': AtelierProgressEvent,
  'atelier-complete': AtelierCompleteEvent,
  'atelier-error': AtelierErrorEvent,
  'atelier-select': AtelierSelectEvent,
};

/**
 * The host side of iframe mode: the iframe's address, and the `postMessage` bridge to the
 * embed page in it. Messages count only when they come from that iframe's window at the
 * server's origin; attributes go only to that origin. The embed page checks this page's
 * origin in turn (the server allowed it, and only it may frame the page).
 */
export class EmbedFrame implements ReactiveController {
  private serverOrigin = '';
  /** The address last made, and for which server and key: other attributes never reload the frame. */
  private made = { for: '', href: '' };

  constructor(
    private readonly host: ReactiveControllerHost & HTMLElement,
    private readonly frame: () => HTMLIFrameElement | null,
  ) {
    host.addController(this);
  }

  hostConnected(): void {
    addEventListener('message', this.handleMessage);
  }

  hostDisconnected(): void {
    removeEventListener('message', this.handleMessage);
  }

  /**
   * The embed page for this key, told which origin frames it and the attributes it starts
   * with (so its first paint is already in the shopper's language and theme); empty when
   * the server is not a URL. Made once per server and key: later changes go through the
   * bridge, and a new address would reload the frame.
   */
  src(server: string, publishableKey: string): string {
    if (this.made.for === `${server} ${publishableKey}`) return this.made.href;
    let href = '';
    try {
      const url = new URL(EMBED_PATH, server);
      url.searchParams.set('key', publishableKey);
      url.searchParams.set('parent', location.origin);
      for (const name of EMBED_URL_ATTRIBUTES) {
        const value = this.attribute(name);
        if (value !== null) url.searchParams.set(name, value);
      }
      href = url.href;
    } catch {
      // Not a URL: no frame.
    }
    this.serverOrigin = href && new URL(href).origin;
    this.made = { for: `${server} ${publishableKey}`, href };
    return href;
  }

  /** A forwarded attribute's value, a URL made absolute (the embed page lives elsewhere). */
  private attribute(name: EmbedForwardedAttribute): string | null {
    const value = this.host.getAttribute(name);
    if (value === null || name !== 'product-image') return value;
    try {
      return new URL(value, document.baseURI).href;
    } catch {
      return null;
    }
  }

  /** Sends the host's forwarded attributes. */
  sync(): void {
    const target = this.frame()?.contentWindow;
    if (!target || !this.serverOrigin) return;
    const attributes: Partial<Record<EmbedForwardedAttribute, string | null>> = {};
    for (const name of EMBED_FORWARDED_ATTRIBUTES) attributes[name] = this.attribute(name);
    const message: HostToEmbedMessage = { source: EMBED_MESSAGE_SOURCE, type: 'attributes', attributes };
    target.postMessage(message, this.serverOrigin);
  }

  private readonly handleMessage = (event: MessageEvent): void => {
    const frame = this.frame();
    if (!frame || event.source !== frame.contentWindow || event.origin !== this.serverOrigin) return;
    const data: unknown = event.data;
    if (!isEmbedToHostMessage(data)) return;
    switch (data.type) {
      case 'ready':
        this.sync();
        break;
      case 'resize':
        // Through the CSSOM, which a strict Content-Security-Policy allows.
        frame.style.height = `${data.height}px`;
        break;
      case 'event':
        this.host.dispatchEvent(new EVENTS[data.name](data.detail as never));
        break;
    }
  };
}
