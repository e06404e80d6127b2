import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';

export interface StorefrontSettings {
  shopName: string;
  productTitle: string;
  price: string;
  description: string;
  accent: string;
  theme: 'light' | 'dark' | 'auto';
  server: string;
  publishableKey: string;
}

export interface Storefront {
  url: string;
  origin: string;
  close(): Promise<void>;
}

/**
 * A merchant's product page on an origin of its own, embedding the widget with one
 * script tag, as any storefront would.
 */
export async function startStorefront(assetsDir: string, port: number, settings: () => StorefrontSettings): Promise<Storefront> {
  const template = await readFile(join(assetsDir, 'product.html'), 'utf8');
  const productSvg = await readFile(join(assetsDir, 'product.svg'));
  const server: Server = createServer((request, response) => {
    const path = new URL(request.url ?? '/', 'http://localhost').pathname;
    if (path === '/' || path === '/index.html') {
      response.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' });
      response.end(render(template, settings()));
    } else if (path === '/product.svg') {
      response.writeHead(200, { 'Content-Type': 'image/svg+xml', 'Cache-Control': 'public, max-age=3600' });
      response.end(productSvg);
    } else {
      response.writeHead(404, { 'Content-Type': 'text/plain' });
      response.end('Not found');
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
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

function render(template: string, settings: StorefrontSettings): string {
  const values = settings as unknown as Record<string, string>;
  return template.replace(/\{\{(\w+)\}\}/g, (_match, name: string) => escapeHtml(values[name] ?? ''));
}

function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
