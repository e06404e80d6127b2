import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import sharp from 'sharp';

/**
 * A merchant's product page of realistic weight for `npm run bench:widget`, on a real
 * HTTP server of its own origin: a full-size hero photo (1600×1200 JPEG, the page's
 * largest paint), a web font, a stylesheet and a deferred theme script that does some
 * work at start-up, as a storefront theme does (its menu fills room the header set aside, so
 * the page itself does not shift: the bench's layout shifts are the widget's). `/with` is the same page plus the
 * widget exactly as README tells merchants to add it (one module script, the inline
 * studio with `product-image`, its room reserved before it is defined by README's rule for
 * that case); `/without` is the page alone.
 */
export interface ProductPageFixture {
  origin: string;
  url(variant: 'with' | 'without'): string;
  /** What the page's own resources weigh on the wire (bytes), for the bench's header. */
  weights: Record<string, number>;
  close(): Promise<void>;
}

export interface WidgetEmbed {
  server: string;
  publishableKey: string;
}

/** Debian's DejaVu (fontconfig's default, so it is where Chromium is): the page's web font. */
const FONT_FILE = '/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf';

async function heroImage(): Promise<Buffer> {
  // Smooth noise compresses like a photograph (a flat fill would be a few kilobytes).
  const noise = sharp({
    create: { width: 400, height: 300, channels: 3, background: '#808080', noise: { type: 'gaussian', mean: 128, sigma: 60 } },
  });
  return noise.resize(1600, 1200, { kernel: 'cubic' }).blur(1.2).jpeg({ quality: 80, mozjpeg: true }).toBuffer();
}

/**
 * A theme script of a usual size (about 60 kB) that, like a theme's, builds its menus
 * and binds its handlers when the document is parsed: one long task of main-thread work,
 * so the page has a realistic baseline for blocking time.
 */
function themeScript(): string {
  const catalogue = Array.from(
    { length: 600 },
    (_, n) => `{id:${n},title:"Product ${n}",tags:["home","walnut","lamp-${n % 7}"]}`,
  );
  return `const CATALOGUE=[${catalogue.join(',')}];
function buildMenu(){const nav=document.querySelector('nav');const list=document.createElement('ul');
for(const item of CATALOGUE.slice(0,12)){const li=document.createElement('li');li.textContent=item.title;list.append(li);}
nav.append(list);}
function indexCatalogue(){const index=new Map();for(let round=0;round<40;round+=1){for(const item of CATALOGUE){
for(const tag of item.tags){const key=tag+round;index.set(key,(index.get(key)||0)+item.title.length);}}}return index.size;}
buildMenu();document.documentElement.dataset.indexed=String(indexCatalogue());
document.querySelector('.buy').addEventListener('click',()=>document.querySelector('.cart').textContent='Cart (1)');
`;
}

const STYLES = `@font-face{font-family:"Shop Serif";src:url(/fonts/shop-serif.ttf) format("truetype");font-display:swap}
*{box-sizing:border-box}body{margin:0;font:16px/1.5 "Shop Serif",Georgia,serif;color:#1f1b16;background:#fbf8f3}
header{display:flex;gap:1rem;align-items:center;justify-content:space-between;height:3.5rem;padding:0 1.5rem;border-bottom:1px solid #e4dccf}
header>strong,.cart{flex:none}nav{flex:1;min-width:0}
nav ul{display:flex;gap:1rem;list-style:none;margin:0;padding:0;overflow:hidden;max-height:1.5em;flex-wrap:wrap}
.gallery img{display:block;width:100%;height:auto}
.product{display:grid;gap:2rem;padding:1.5rem;max-width:72rem;margin:auto}
@media (min-width:900px){.product{grid-template-columns:3fr 2fr}}
.more{padding:1.5rem;max-width:72rem;margin:auto}
.buy{font:inherit;padding:.75rem 1.5rem;background:#7a4a1d;color:#fff;border:0;border-radius:6px}
atelier-studio:not(:defined){display:block;min-height:850px;min-height:calc(100cqi + 19.27em + 8.15rem + 32px)}
.details{container-type:inline-size}footer{padding:2rem 1.5rem;color:#5c5348}`;

function page(embed: WidgetEmbed | null): string {
  const script = embed ? `<script type="module" src="${embed.server}/widget.js" fetchpriority="low"></script>` : '';
  const studio = embed
    ? `<section aria-labelledby="studio"><h2 id="studio">See it in your room</h2>
<atelier-studio publishable-key="${embed.publishableKey}" server="${embed.server}" mode="inline" product-title="Walnut desk lamp" product-image="/images/hero.jpg"></atelier-studio></section>`
    : '';
  const paragraph =
    'Turned from a single piece of oiled walnut, with a linen shade and a brass switch. Every lamp is finished by hand, so the grain of yours is its own.';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Walnut desk lamp – Lumen &amp; Oak</title><link rel="icon" href="data:,">
<link rel="preload" href="/fonts/shop-serif.ttf" as="font" type="font/ttf" crossorigin>
<link rel="stylesheet" href="/theme.css"><script src="/theme.js" defer></script>${script}</head>
<body><header><strong>Lumen &amp; Oak</strong><nav aria-label="Shop"></nav><span class="cart">Cart (0)</span></header>
<main><article class="product"><div class="gallery"><img src="/images/hero.jpg" alt="Walnut desk lamp on an oak table" width="1600" height="1200" fetchpriority="high"></div>
<div class="details"><h1>Walnut desk lamp</h1><p>€ 189,00</p>${`<p>${paragraph}</p>`.repeat(2)}
<button class="buy" type="button">Add to cart</button>${studio}</div></article>
<section class="more"><h2>Details</h2>${`<p>${paragraph}</p>`.repeat(6)}</section></main>
<footer>Lumen &amp; Oak · Free delivery over € 100 · Returns within 30 days</footer></body></html>`;
}

interface Asset {
  type: string;
  body: Buffer;
  /** Compressed with gzip on the wire, as a CDN would serve it. */
  gzip: boolean;
}

export async function startProductPage(embed: WidgetEmbed): Promise<ProductPageFixture> {
  if (!existsSync(FONT_FILE)) throw new Error(`${FONT_FILE} is missing: install Debian's fonts-dejavu-core`);
  const assets = new Map<string, Asset>([
    ['/images/hero.jpg', { type: 'image/jpeg', body: await heroImage(), gzip: false }],
    ['/fonts/shop-serif.ttf', { type: 'font/ttf', body: await readFile(FONT_FILE), gzip: true }],
    ['/theme.css', { type: 'text/css; charset=utf-8', body: Buffer.from(STYLES), gzip: true }],
    ['/theme.js', { type: 'text/javascript; charset=utf-8', body: Buffer.from(themeScript()), gzip: true }],
    ['/with', { type: 'text/html; charset=utf-8', body: Buffer.from(page(embed)), gzip: true }],
    ['/without', { type: 'text/html; charset=utf-8', body: Buffer.from(page(null)), gzip: true }],
  ]);
  const wire = new Map([...assets].map(([path, asset]) => [path, asset.gzip ? gzipSync(asset.body) : asset.body]));

  const server: Server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const path = new URL(request.url ?? '/', 'http://localhost').pathname;
    const asset = assets.get(path);
    if (!asset) return void response.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
    const html = asset.type.startsWith('text/html');
    response.writeHead(200, {
      'content-type': asset.type,
      'cache-control': html ? 'no-store' : 'public, max-age=31536000',
      ...(asset.gzip ? { 'content-encoding': 'gzip', vary: 'accept-encoding' } : {}),
    });
    response.end(wire.get(path));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    origin,
    url: (variant) => `${origin}/${variant}`,
    weights: Object.fromEntries(
      ['/images/hero.jpg', '/fonts/shop-serif.ttf', '/theme.js', '/theme.css', '/without'].map((path) => [
        path,
        wire.get(path)!.length,
      ]),
    ),
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
