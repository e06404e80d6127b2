/**
 * A tiny static HTTP server for the browser specs: it serves the built bundles
 * (from dist/bundle, so `npm run build` comes first) and pages each test writes.
 */
import { readFile } from 'node:fs/promises';
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { STUDIO_PATH } from '@atelier/protocol';

export const BUNDLE_DIR = new URL('../dist/bundle/', import.meta.url);

/** A 1×1 PNG, so result images really load. */
const PIXEL = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==',
  'base64',
);

const BUNDLES: Record<string, string> = {
  '/atelier-studio.js': 'atelier-studio.js',
  // The names the Atelier server serves them under: the loader, and the hashed studio it imports.
  '/widget.js': 'loader.js',
  '/atelier-studio.iife.js': 'atelier-studio.iife.js',
};

/** How long `/slow.png?ms=N` takes to answer (at most 10 s): holds a page's load event back. */
const slowMs = (url: URL) => Math.min(Number(url.searchParams.get('ms') ?? 0) || 0, 10_000);

export interface StaticServer {
  readonly origin: string;
  /** Serves `html` at `path` (a full page: write your own <script> tags). */
  page(path: string, html: string): string;
  close(): Promise<void>;
}

export async function startStaticServer(): Promise<StaticServer> {
  const pages = new Map<string, string>();
  const server: Server = createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://x');
    const path = url.pathname;
    const send = (status: number, type: string, body: string | Buffer) =>
      response.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' }).end(body);
    const page = pages.get(path);
    if (page !== undefined) return send(200, 'text/html; charset=utf-8', page);
    if (path === '/pixel.png') return send(200, 'image/png', PIXEL);
    if (path === '/slow.png') return void setTimeout(() => send(200, 'image/png', PIXEL), slowMs(url));
    const bundle = BUNDLES[path] ?? STUDIO_PATH.exec(path)?.[1];
    if (!bundle) return send(404, 'text/plain', 'not found');
    return void readFile(new URL(bundle, BUNDLE_DIR)).then(
      (body) => send(200, 'text/javascript; charset=utf-8', body),
      () => send(500, 'text/plain', `missing ${bundle}: run \`npm run build\` first`),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    origin,
    page(path, html) {
      pages.set(path, html);
      return origin + path;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A port nothing listens on: taken from the OS, then released. */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
