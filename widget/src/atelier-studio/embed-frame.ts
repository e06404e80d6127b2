import {
  EMBED_FORWARDED_ATTRIBUTES,
  EMBED_MESSAGE_SOURCE,
  EMBED_PATH,
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

  /** The embed page for this key, told which origin frames it; empty when the server is not a URL. */
  src(server: string, publishableKey: string): string {
    try {
      const url = new URL(EMBED_PATH, server);
      url.searchParams.set('key', publishableKey);
      url.searchParams.set('parent', location.origin);
      this.serverOrigin = url.origin;
      return url.href;
    } catch {
      this.serverOrigin = '';
      return '';
    }
  }

  /** Sends the host's forwarded attributes (URLs made absolute: the embed page lives elsewhere). */
  sync(): void {
    const target = this.frame()?.contentWindow;
    if (!target || !this.serverOrigin) return;
    const attributes: Partial<Record<EmbedForwardedAttribute, string | null>> = {};
    for (const name of EMBED_FORWARDED_ATTRIBUTES) {
      const value = this.host.getAttribute(name);
      attributes[name] = value !== null && name === 'product-image' ? new URL(value, document.baseURI).href : value;
    }
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
