import { createHash } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { EMBED_PATH, EMBED_SCRIPT_PATH, EMBED_URL_ATTRIBUTES, type EmbedUrlAttribute, STUDIO_PATH } from '@atelier/protocol';
import { Router, type RequestHandler, type Response } from 'express';
import { createLogger } from '../../logging/logger.js';
import type { Identity } from '../strategies/identity.js';

const log = createLogger('embed-routes');

/** The page's only inline CSS, allowed by its hash: no margins around the studio. */
const PAGE_STYLE = 'html,body{margin:0;background:transparent}';
const PAGE_STYLE_HASH = `'sha256-${createHash('sha256').update(PAGE_STYLE).digest('base64')}'`;

/**
 * What the page takes of the host element's starting attributes (EMBED_URL_ATTRIBUTES).
 * A value that fails is left out, not refused: the page still renders (the studio's
 * defaults), and the bridge forwards the attribute as the host page has it, as it would
 * have without the address. A value that passes is still escaped where it is written.
 */
const URL_ATTRIBUTE_RULES: Record<EmbedUrlAttribute, (value: string) => boolean> = {
  // A BCP 47 tag's shape; the studio falls back to English for a language it lacks.
  locale: (value) => /^[A-Za-z]{2,8}(?:-[A-Za-z0-9]{1,8}){0,4}$/.test(value),
  theme: (value) => value === 'light' || value === 'dark' || value === 'auto',
  'product-image': (value) => value.length <= 2048 && exactHttpUrl(value),
  // eslint-disable-next-line no-control-regex -- control characters are what it refuses
  'product-title': (value) => value.length <= 200 && !/[\u0000-\u001f\u007f]/.test(value),
};

export interface EmbedRoutesDeps {
  identity: Pick<Identity, 'at'>;
  /** The widget's build directory, where the hashed studio file is. */
  bundleDir: string | undefined;
  /** The server's public URL (known once it listens), for the socket in the page's policy. */
  publicUrl: () => string;
  /** The per-address rate limit, taken before the key is looked up. */
  addressLimit: RequestHandler;
}

/**
 * `GET /embed/studio?key=pk_…&parent=<origin>[&locale&theme&product-image&product-title]` —
 * the page `<atelier-studio mode="iframe">` frames: one studio (with the host element's
 * starting attributes, so its first paint is right), the studio's script and the bridge
 * (`/embed.js`), no inline script.
 * The parent must be one of the tenant's allowed origins, and the page's
 * Content-Security-Policy lets only that origin frame it (`frame-ancestors`), so a key
 * copied onto another site gets a refusal there, as the inline widget's socket does.
 */
export function embedRoutes(deps: EmbedRoutesDeps): Router {
  const router = Router();
  const gate = deps.identity.at(`GET ${EMBED_PATH}`);
  const studioFile = deps.bundleDir ? findStudio(deps.bundleDir) : undefined;
  router.get(EMBED_PATH, deps.addressLimit, async (req, res) => {
    if (!studioFile) return refuse(res, 404, 'The studio is not built on this server.');
    const check = await gate.authenticate('embed-key', req);
    if (!check.ok) {
      log.warn({ parent: req.query.parent, reason: check.refusal.reason }, 'embed page refused');
      return refuse(res, check.refusal.reason === 'parent' ? 400 : 403, check.refusal.message);
    }
    const { parent: parentOrigin, publishableKey } = check.principal;
    const server = new URL(deps.publicUrl());
    const socket = `${server.protocol === 'https:' ? 'wss:' : 'ws:'}//${server.host}`;
    res.setHeader(
      'Content-Security-Policy',
      [
        "default-src 'none'",
        "script-src 'self'",
        `style-src ${PAGE_STYLE_HASH}`,
        // Results come from here; the product photo from the shop's own origin or CDN.
        `img-src 'self' data: blob: https: ${parentOrigin}`,
        `connect-src 'self' ${socket}`,
        `frame-ancestors ${parentOrigin}`,
        "base-uri 'none'",
        "form-action 'none'",
      ].join('; '),
    );
    res.setHeader('Cache-Control', 'no-store');
    res.setHeader('Referrer-Policy', 'no-referrer');
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.type('html').send(page(parentOrigin, publishableKey, studioFile, startingAttributes(req.query)));
  });
  return router;
}

function exactHttpUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return (url.protocol === 'https:' || url.protocol === 'http:') && url.username === '' && url.password === '';
  } catch {
    return false;
  }
}

/** The starting attributes that pass their rule; one given twice (an array) is left out too. */
function startingAttributes(query: Record<string, unknown>): Partial<Record<EmbedUrlAttribute, string>> {
  const kept: Partial<Record<EmbedUrlAttribute, string>> = {};
  for (const name of EMBED_URL_ATTRIBUTES) {
    const value = query[name];
    if (typeof value === 'string' && URL_ATTRIBUTE_RULES[name](value)) kept[name] = value;
  }
  return kept;
}

function findStudio(dir: string): string | undefined {
  try {
    return readdirSync(dir).find((name) => STUDIO_PATH.test(`/${name}`));
  } catch {
    return undefined;
  }
}

function refuse(res: Response, status: number, message: string): void {
  res.setHeader('Content-Security-Policy', "default-src 'none'");
  res.setHeader('Cache-Control', 'no-store');
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.status(status).type('text/plain').send(message);
}

function page(
  parentOrigin: string,
  key: string,
  studioFile: string,
  attributes: Partial<Record<EmbedUrlAttribute, string>>,
): string {
  const more = Object.entries(attributes)
    .map(([name, value]) => ` ${name}="${escapeHtml(value)}"`)
    .join('');
  return `<!doctype html>
<html lang="${escapeHtml(attributes.locale ?? 'en')}" data-parent="${escapeHtml(parentOrigin)}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>Studio</title>
<style>${PAGE_STYLE}</style>
</head>
<body>
<atelier-studio publishable-key="${escapeHtml(key)}"${more}></atelier-studio>
<script type="module" src="/${studioFile}"></script>
<script type="module" src="${EMBED_SCRIPT_PATH}"></script>
</body>
</html>
`;
}

function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
