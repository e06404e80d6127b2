/**
 * Stands in for Shopify in the browser spec: one origin that serves the storefront's
 * rendered pages, the shop's CDN files (`image_url`), the extension's assets at the
 * paths `asset_url` gives them (as Shopify's CDN would serve the deployed extension),
 * and the storefront's cart endpoint (`POST /cart/add.js`), whose requests it keeps.
 */
import { readFile } from 'node:fs/promises';
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { EXTENSION_DIR } from './extension-files.js';

const TYPES: Record<string, string> = { '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8' };

/** A 1×1 PNG: the product photo the studio shows until a result replaces it. */
const PHOTO = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==',
  'base64',
);

/** Shopify's app proxy on the storefront: `/apps/atelier/<rest>` forwarded, signed, to the app. */
export interface AppProxy {
  /** Where the proxy's URL in shopify.app.toml points, e.g. `<server>/shopify/proxy`. */
  target: string;
  shop: string;
  /** Signs the forwarded query as Shopify does (the fake Shopify's signer). */
  sign: (input: { shop: string; loggedInCustomerId?: string; extra?: Record<string, string> }) => URLSearchParams;
  /** The storefront's logged-in customer, if any. */
  customerId?: string;
}

export interface ThemeHost {
  /** e.g. `http://127.0.0.1:40123` */
  readonly origin: string;
  /** `127.0.0.1:40123`: the shop's and the CDN's host in the rendered Liquid. */
  readonly host: string;
  /** The JSON bodies `POST /cart/add.js` received, in order. */
  readonly cartAdds: unknown[];
  /** `METHOD /apps/atelier/<rest> <status>` of every request the app proxy forwarded. */
  readonly proxied: string[];
  /** Serves `html` at `path`; returns its URL. */
  page(path: string, html: string): string;
  close(): Promise<void>;
}

/** Shopify's answer to a cart add: the lines it added, each with its key and properties. */
function addToCart(request: IncomingMessage, cartAdds: unknown[], send: (status: number, type: string, body: string) => void) {
  const chunks: Buffer[] = [];
  request.on('data', (chunk: Buffer) => chunks.push(chunk));
  request.on('end', () => {
    let body: { items?: { id: number; quantity: number; properties?: Record<string, string> }[] };
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as typeof body;
    } catch {
      return send(400, 'application/json', JSON.stringify({ status: 400, message: 'Bad Request', description: 'Not JSON' }));
    }
    cartAdds.push(body);
    const items = (body.items ?? []).map((item, n) => ({ ...item, key: `${item.id}:${n}`, variant_id: item.id }));
    send(200, 'application/json', JSON.stringify({ items }));
  });
}

/**
 * Forwards as Shopify's app proxy does: the path under the prefix appended to the target,
 * the storefront's query plus `shop`, `logged_in_customer_id`, `path_prefix` and
 * `timestamp`, signed; cookies dropped; the shopper's address in `X-Forwarded-For`; the
 * method and the body as they came (Shopify's "Authenticate app proxies" documents each).
 */
async function forward(proxy: AppProxy, request: IncomingMessage, url: URL, proxied: string[], response: ServerResponse) {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  const rest = url.pathname.slice('/apps/atelier'.length);
  const query = proxy.sign({
    shop: proxy.shop,
    ...(proxy.customerId ? { loggedInCustomerId: proxy.customerId } : {}),
    extra: Object.fromEntries(url.searchParams),
  });
  const answer = await fetch(`${proxy.target}${rest}?${query.toString()}`, {
    method: request.method ?? 'GET',
    headers: {
      'content-type': request.headers['content-type'] ?? 'application/octet-stream',
      'x-forwarded-for': request.socket.remoteAddress ?? '',
    },
    ...(chunks.length > 0 ? { body: Buffer.concat(chunks) } : {}),
  });
  proxied.push(`${request.method} ${url.pathname} ${answer.status}`);
  response
    .writeHead(answer.status, { 'content-type': answer.headers.get('content-type') ?? 'text/plain', 'cache-control': 'no-store' })
    .end(Buffer.from(await answer.arrayBuffer()));
}

export async function startThemeHost(options: { appProxy?: AppProxy } = {}): Promise<ThemeHost> {
  const pages = new Map<string, string>();
  const cartAdds: unknown[] = [];
  const proxied: string[] = [];
  const server: Server = createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://x');
    const path = url.pathname;
    const send = (status: number, type: string, body: string | Buffer) =>
      response.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' }).end(body);
    if (request.method === 'POST' && path === '/cart/add.js') return void addToCart(request, cartAdds, send);
    if (options.appProxy && path.startsWith('/apps/atelier/')) {
      return void forward(options.appProxy, request, url, proxied, response).catch(() => send(502, 'text/plain', 'proxy error'));
    }
    const page = pages.get(path);
    if (page !== undefined) return send(200, 'text/html; charset=utf-8', page);
    if (/^\/cdn\/shop\/files\/[\w.-]+\.png$/.test(path)) return send(200, 'image/png', PHOTO);
    const asset = /^\/extensions\/[\w-]+\/[\w.-]+\/assets\/([\w-]+(\.\w+))$/.exec(path);
    if (!asset || !TYPES[asset[2]!]) return send(404, 'text/plain', 'not found');
    return void readFile(join(EXTENSION_DIR, 'assets', asset[1]!)).then(
      (body) => send(200, TYPES[asset[2]!]!, body),
      () => send(404, 'text/plain', 'not found'),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    origin: `http://${host}`,
    host,
    cartAdds,
    proxied,
    page(path, html) {
      pages.set(path, html);
      return `http://${host}${path}`;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
