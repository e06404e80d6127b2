/**
 * Iframe mode: `<atelier-studio mode="iframe">` renders the server's embed page
 * (`EMBED_PATH?key=pk_…&parent=<the page's origin>`) in an iframe, for sites that want
 * the studio fully isolated from their own scripts and styles. The two sides talk
 * through `postMessage` with these messages only, each side naming the other's exact
 * origin as the target and checking it on receipt.
 */
export const EMBED_PATH = '/embed/studio';

/** The embed page's own script (the bridge to the host page); served beside the loader. */
export const EMBED_SCRIPT_PATH = '/embed.js';

/** Marks the bridge's messages among whatever else a page posts. */
export const EMBED_MESSAGE_SOURCE = 'atelier-studio';

/** The host element's attributes the embedded studio follows. */
export const EMBED_FORWARDED_ATTRIBUTES = ['locale', 'theme', 'product-image', 'product-title', 'session-token'] as const;
export type EmbedForwardedAttribute = (typeof EMBED_FORWARDED_ATTRIBUTES)[number];

/**
 * Those also put in the iframe's address, so that the embed page renders in the right
 * language, theme and product from its first paint, before the bridge has said anything.
 * Not `session-token`: a shopper's credential stays out of addresses (server logs,
 * history), and reaches the page through the bridge only.
 */
export const EMBED_URL_ATTRIBUTES = [
  'locale',
  'theme',
  'product-image',
  'product-title',
] as const satisfies readonly EmbedForwardedAttribute[];
export type EmbedUrlAttribute = (typeof EMBED_URL_ATTRIBUTES)[number];

/** The widget's events, re-dispatched on the host element with the same `detail`. */
export const EMBED_EVENTS = ['atelier-start', 'atelier-progress', 'atelier-complete', 'atelier-error', 'atelier-select'] as const;
export type EmbedEventName = (typeof EMBED_EVENTS)[number];

/** Host page → embed page. A missing attribute is removed (`null`). */
export interface EmbedAttributesMessage {
  source: typeof EMBED_MESSAGE_SOURCE;
  type: 'attributes';
  attributes: Partial<Record<EmbedForwardedAttribute, string | null>>;
}

/** Embed page → host page: one of the studio's events. */
export interface EmbedEventMessage {
  source: typeof EMBED_MESSAGE_SOURCE;
  type: 'event';
  name: EmbedEventName;
  detail: unknown;
}

/** Embed page → host page: the page's height in CSS pixels, so the iframe fits it without scrolling. */
export interface EmbedResizeMessage {
  source: typeof EMBED_MESSAGE_SOURCE;
  type: 'resize';
  height: number;
}

/** Embed page → host page: the embedded studio is ready for attributes (sent once it has loaded). */
export interface EmbedReadyMessage {
  source: typeof EMBED_MESSAGE_SOURCE;
  type: 'ready';
}

export type EmbedToHostMessage = EmbedEventMessage | EmbedResizeMessage | EmbedReadyMessage;
export type HostToEmbedMessage = EmbedAttributesMessage;

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null;

/** What the host page accepts from the embed page (after checking the sender's origin and window). */
export function isEmbedToHostMessage(data: unknown): data is EmbedToHostMessage {
  if (!isRecord(data) || data['source'] !== EMBED_MESSAGE_SOURCE) return false;
  switch (data['type']) {
    case 'event':
      return (EMBED_EVENTS as readonly unknown[]).includes(data['name']);
    case 'resize':
      return typeof data['height'] === 'number' && Number.isFinite(data['height']) && data['height'] >= 0;
    case 'ready':
      return true;
    default:
      return false;
  }
}

/** What the embed page accepts from the host page (after checking the sender's origin and window). */
export function isHostToEmbedMessage(data: unknown): data is HostToEmbedMessage {
  if (!isRecord(data) || data['source'] !== EMBED_MESSAGE_SOURCE || data['type'] !== 'attributes') return false;
  const attributes = data['attributes'];
  return (
    isRecord(attributes) &&
    Object.entries(attributes).every(
      ([name, value]) =>
        (EMBED_FORWARDED_ATTRIBUTES as readonly string[]).includes(name) && (value === null || typeof value === 'string'),
    )
  );
}
