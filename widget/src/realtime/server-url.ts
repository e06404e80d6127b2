import { REALTIME_PATH, socketUrl } from '@atelier/protocol';

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
}

export function realtimeUrl({ server, publishableKey }: RealtimeUrlOptions): string {
  return socketUrl(server, REALTIME_PATH, { key: publishableKey });
}
