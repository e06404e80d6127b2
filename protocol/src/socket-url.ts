/**
 * The WebSocket URL of `path` on a server given by its http(s) or ws(s) base URL. A
 * path prefix on the base (a reverse proxy's `/atelier/`) is kept; `query` is added.
 * Throws a TypeError when `base` is not a URL.
 */
export function socketUrl(base: string, path: string, query: Record<string, string> = {}): string {
  const root = new URL(base.endsWith('/') ? base : `${base}/`);
  const url = new URL(path.replace(/^\//, ''), root);
  if (url.protocol === 'https:') url.protocol = 'wss:';
  else if (url.protocol === 'http:') url.protocol = 'ws:';
  if (url.protocol !== 'ws:' && url.protocol !== 'wss:') throw new TypeError(`not an http(s) or ws(s) URL: ${base}`);
  for (const [name, value] of Object.entries(query)) url.searchParams.set(name, value);
  return url.href;
}
