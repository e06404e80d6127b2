import { REALTIME_PATH } from './protocol-constants.js';

/**
 * The origin a script was loaded from, or '' when it has none (data:, blob:).
 * `<script type="module" src="https://HOST/widget.js">` therefore talks to HOST
 * without a `server` attribute.
 */
export function originOf(scriptUrl: string): string {
  try {
    const origin = new URL(scriptUrl).origin;
    return origin === 'null' ? '' : origin;
  } catch {
    return '';
  }
}

export interface RealtimeUrlOptions {
  /** `http(s)://` or `ws(s)://` base; a path prefix (a reverse proxy's) is kept. */
  server: string;
  publishableKey: string;
  /** Shopper session token from `POST /v1/sessions`, when the merchant mints one. */
  sessionToken?: string | undefined;
}

export function realtimeUrl({ server, publishableKey, sessionToken }: RealtimeUrlOptions): string {
  const base = new URL(server.endsWith('/') ? server : `${server}/`);
  const url = new URL(REALTIME_PATH.slice(1), base);
  if (url.protocol === 'https:') url.protocol = 'wss:';
  else if (url.protocol === 'http:') url.protocol = 'ws:';
  url.searchParams.set('key', publishableKey);
  if (sessionToken) url.searchParams.set('session', sessionToken);
  return url.href;
}
