import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { brotliCompressSync, constants as zlib, gzipSync } from 'node:zlib';
import { Router, type Request, type Response } from 'express';
import { EMBED_SCRIPT_PATH, STUDIO_PATH, WIDGET_LOADER_PATH } from '@atelier/protocol';
import { notFound } from '../../errors/app-error.js';
import { createLogger } from '../../logging/logger.js';

const log = createLogger('widget-routes');

/** The loader a page includes; short-lived, so a new studio reaches pages within minutes. */
const LOADER_CACHE = 'public, max-age=300, stale-while-revalidate=86400';
/** Files served under a fixed name: the loader and the embed page's bridge. */
const SHORT_LIVED = new Set(['loader.js', 'embed.js']);
/** A studio file's name holds its content hash: it never changes, so caches keep it. */
const STUDIO_CACHE = 'public, max-age=31536000, immutable';

interface Asset {
  identity: Buffer;
  gzip: Buffer;
  br: Buffer;
  etag: string;
  cacheControl: string;
}

/**
 * The widget's files from its build directory (`widget/dist/bundle`): `GET /widget.js`
 * is the loader a storefront includes, `GET /atelier-studio.<hash>.js` the studio it
 * fetches when the page needs it. Both are compressed once at start (brotli and gzip at
 * their highest settings) and served by `Accept-Encoding`, with an ETag; storefronts load
 * them cross-origin as module scripts, which needs CORS.
 */
export function widgetRoutes(bundleDir: string | undefined): Router {
  const router = Router();
  const assets = bundleDir ? readAssets(bundleDir) : new Map<string, Asset>();
  const serve = (name: string, res: Response, req: Request) => {
    const asset = assets.get(name);
    if (!asset) throw notFound(SHORT_LIVED.has(name) ? 'The widget bundle' : 'That widget file');
    send(req, res, asset);
  };
  router.get(WIDGET_LOADER_PATH, (req, res) => serve('loader.js', res, req));
  router.get(STUDIO_PATH, (req, res) => serve(req.path.slice(1), res, req));
  router.get(EMBED_SCRIPT_PATH, (req, res) => serve('embed.js', res, req));
  return router;
}

function readAssets(dir: string): Map<string, Asset> {
  const assets = new Map<string, Asset>();
  let names: string[];
  try {
    names = readdirSync(dir).filter((name) => SHORT_LIVED.has(name) || STUDIO_PATH.test(`/${name}`));
  } catch (error) {
    log.warn({ err: error, dir }, 'no widget build: /widget.js answers 404 (run `npm run build`)');
    return assets;
  }
  for (const name of names) {
    const identity = readFileSync(join(dir, name));
    assets.set(name, {
      identity,
      gzip: gzipSync(identity, { level: 9 }),
      br: brotliCompressSync(identity, {
        params: { [zlib.BROTLI_PARAM_QUALITY]: 11, [zlib.BROTLI_PARAM_MODE]: zlib.BROTLI_MODE_TEXT },
      }),
      etag: `"${createHash('sha256').update(identity).digest('base64url').slice(0, 22)}"`,
      cacheControl: SHORT_LIVED.has(name) ? LOADER_CACHE : STUDIO_CACHE,
    });
  }
  return assets;
}

function send(req: Request, res: Response, asset: Asset): void {
  res.setHeader('Access-Control-Allow-Origin', '*');
  res.setHeader('Cross-Origin-Resource-Policy', 'cross-origin');
  res.setHeader('Content-Type', 'text/javascript; charset=utf-8');
  res.setHeader('Cache-Control', asset.cacheControl);
  res.setHeader('Vary', 'Accept-Encoding');
  res.setHeader('ETag', asset.etag);
  if (req.fresh) {
    res.status(304).end();
    return;
  }
  // Ours to prefer: brotli is smaller, and browsers list gzip first at equal weight.
  const encoding = req.acceptsEncodings('br') ? 'br' : req.acceptsEncodings('gzip') ? 'gzip' : 'identity';
  if (encoding === 'br' || encoding === 'gzip') res.setHeader('Content-Encoding', encoding);
  const body = encoding === 'br' ? asset.br : encoding === 'gzip' ? asset.gzip : asset.identity;
  res.setHeader('Content-Length', body.length);
  res.status(200).end(req.method === 'HEAD' ? undefined : body);
}
