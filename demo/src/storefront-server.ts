import { readFile } from 'node:fs/promises';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { DemoTenantSpec } from './demo-tenants.js';
import { imagePath, loadTemplates, productPath, renderPage, type ShopView, type StorefrontPage } from './storefront-pages.js';

export interface Storefront {
  url: string;
  origin: string;
  close(): Promise<void>;
}

/** What the storefront needs to know once it is up: the server and the tenant's publishable key. */
export type ShopKeys = () => Pick<ShopView, 'server' | 'publishableKey'>;

/**
 * A merchant's shop on an origin of its own: a catalogue (`/`) with the floating
 * launcher, one page per product with the studio inline beside the photo
 * (`/products/<slug>`), and a studio page in iframe mode (`/studio`). Each page embeds
 * the widget with one script tag, as any storefront would.
 */
export async function startStorefront(
  assetsDir: string,
  port: number,
  spec: DemoTenantSpec,
  keys: ShopKeys,
): Promise<Storefront> {
  const templates = await loadTemplates(assetsDir);
  const stylesheet = await readFile(join(assetsDir, 'shop.css'));
  const images = new Map<string, Buffer>();
  for (const product of spec.products) {
    images.set(imagePath(product), await readFile(join(assetsDir, imagePath(product))));
  }
  const pages = new Map<string, StorefrontPage>([
    ['/', { kind: 'catalogue' }],
    ['/studio', { kind: 'studio' }],
    ...spec.products.map((product) => [productPath(product), { kind: 'product', product }] as const),
  ]);

  let origin = '';
  const server: Server = createServer((request, response) => {
    const path = new URL(request.url ?? '/', 'http://localhost').pathname;
    const page = pages.get(path);
    if (page) {
      const html = renderPage(templates, { spec, origin, ...keys() }, page);
      return send(response, 200, 'text/html; charset=utf-8', 'no-store', html);
    }
    if (path === '/shop.css') return send(response, 200, 'text/css; charset=utf-8', 'public, max-age=300', stylesheet);
    const image = images.get(path);
    if (image) return send(response, 200, 'image/svg+xml', 'public, max-age=3600', image);
    send(response, 404, 'text/plain; charset=utf-8', 'no-store', 'Not found');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url: `${origin}/`,
    origin,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function send(response: ServerResponse, status: number, type: string, cache: string, body: string | Buffer): void {
  response.writeHead(status, { 'Content-Type': type, 'Cache-Control': cache });
  response.end(body);
}
