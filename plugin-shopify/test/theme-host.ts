/**
 * Stands in for Shopify in the browser spec: one origin that serves the storefront's
 * rendered pages, the shop's CDN files (`image_url`), the extension's assets at the
 * paths `asset_url` gives them (as Shopify's CDN would serve the deployed extension),
 * and the storefront's cart endpoint (`POST /cart/add.js`), whose requests it keeps.
 */
import { readFile } from 'node:fs/promises';
import { type IncomingMessage, type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { EXTENSION_DIR } from './extension-files.js';

const TYPES: Record<string, string> = { '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8' };

/** A 1×1 PNG: the product photo the studio shows until a result replaces it. */
const PHOTO = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==',
  'base64',
);

export interface ThemeHost {
  /** e.g. `http://127.0.0.1:40123` */
  readonly origin: string;
  /** `127.0.0.1:40123`: the shop's and the CDN's host in the rendered Liquid. */
  readonly host: string;
  /** The JSON bodies `POST /cart/add.js` received, in order. */
  readonly cartAdds: unknown[];
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

export async function startThemeHost(): Promise<ThemeHost> {
  const pages = new Map<string, string>();
  const cartAdds: unknown[] = [];
  const server: Server = createServer((request, response) => {
    const path = new URL(request.url ?? '/', 'http://x').pathname;
    const send = (status: number, type: string, body: string | Buffer) =>
      response.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' }).end(body);
    if (request.method === 'POST' && path === '/cart/add.js') return void addToCart(request, cartAdds, send);
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
