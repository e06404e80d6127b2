import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Router, type Request } from 'express';
import { shopDomain } from '../shop-domain.js';

/** Where the page's own script and stylesheet are served (beside the app URL). */
export const ADMIN_ASSETS_PATH = '/shopify/admin';

// Read from src/admin/page both when running the build (dist/admin) and the sources (src/admin).
const PAGE_DIR = fileURLToPath(new URL('../../src/admin/page/', import.meta.url));
const ASSETS = {
  'admin-app.js': 'text/javascript; charset=utf-8',
  'admin.css': 'text/css; charset=utf-8',
} as const;

export interface AdminPageOptions {
  apiKey: string;
  /** The App Bridge script (Shopify's CDN in production). */
  appBridgeUrl: string;
  /** Where Shopify's admin is besides `admin.shopify.com` and the shop's own domain (the fake in tests). */
  adminOrigin: string | undefined;
}

/**
 * The embedded admin page (the app's `application_url`, `/shopify`), which Shopify's admin
 * shows in an iframe. Static: App Bridge first (as Shopify requires), then one ES module
 * that asks the API behind `embeddedAdminAuth` for everything with a session token. A
 * strict Content-Security-Policy: scripts only from here and App Bridge's origin, no
 * inline script or style, framed only by the shop's admin.
 */
export function adminPage(options: AdminPageOptions): Router {
  const router = Router();
  const html = renderPage(options);
  const assets = new Map(
    Object.entries(ASSETS).map(([file, type]) => [file, { type, body: readFileSync(`${PAGE_DIR}${file}`) }] as const),
  );
  const bridgeOrigin = new URL(options.appBridgeUrl).origin;

  router.get('/shopify', (req, res) => {
    res
      .status(200)
      .type('html')
      .setHeader('Cache-Control', 'no-store')
      .setHeader('Content-Security-Policy', policy(req, bridgeOrigin, options.adminOrigin))
      .setHeader('X-Content-Type-Options', 'nosniff')
      .setHeader('Referrer-Policy', 'strict-origin-when-cross-origin')
      .send(html);
  });

  router.get(`${ADMIN_ASSETS_PATH}/:file`, (req, res, next) => {
    const asset = assets.get(req.params.file);
    if (!asset) return next();
    res.type(asset.type).setHeader('Cache-Control', 'no-cache').setHeader('X-Content-Type-Options', 'nosniff').send(asset.body);
  });

  return router;
}

function policy(req: Request, bridgeOrigin: string, adminOrigin: string | undefined): string {
  // Shopify frames the app from the shop's admin: the shop comes in the query and only frames the page.
  const shop = shopDomain(req.query.shop);
  const ancestors = ['https://admin.shopify.com', ...(shop ? [`https://${shop}`] : []), ...(adminOrigin ? [adminOrigin] : [])];
  return [
    "default-src 'self'",
    `script-src 'self' ${bridgeOrigin}`,
    "style-src 'self'",
    "img-src 'self' data: blob:",
    `connect-src 'self' ${bridgeOrigin}`,
    `frame-ancestors ${ancestors.join(' ')}`,
    "base-uri 'none'",
    "form-action 'self'",
    "object-src 'none'",
  ].join('; ');
}

function renderPage({ apiKey, appBridgeUrl }: AdminPageOptions): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="shopify-api-key" content="${escapeHtml(apiKey)}">
<script src="${escapeHtml(appBridgeUrl)}"></script>
<title>Atelier</title>
<link rel="stylesheet" href="${ADMIN_ASSETS_PATH}/admin.css">
<script type="module" src="${ADMIN_ASSETS_PATH}/admin-app.js"></script>
<script type="module" src="/widget.js"></script>
</head>
<body>
<main id="app" aria-busy="true">
  <header>
    <h1>Atelier<span id="shop-name"></span></h1>
    <p id="status" role="status" aria-live="polite">Loading your shop…</p>
    <p id="error" class="banner banner--error" role="alert" hidden></p>
  </header>

  <section aria-labelledby="h-embed" hidden>
    <h2 id="h-embed">On your storefront</h2>
    <p>Shoppers see the studio once the Atelier launcher is on in your theme (App embeds).</p>
    <button type="button" id="open-theme-editor">Turn it on in the theme editor</button>
  </section>

  <section aria-labelledby="h-plan" hidden>
    <h2 id="h-plan">Plan and credits</h2>
    <p id="cap-banner" class="banner banner--warning" role="alert" hidden>
      Your usage cap for this billing period is reached: new pictures are refused until the next period or a bigger plan.
    </p>
    <dl class="figures">
      <div><dt>Plan</dt><dd id="plan-name">–</dd></div>
      <div><dt>Credits available</dt><dd id="credits-available">–</dd></div>
      <div><dt>Included each month</dt><dd id="credits-monthly">–</dd></div>
      <div><dt>Usage charges this period</dt><dd id="billing-used">–</dd></div>
      <div><dt>This period ends</dt><dd id="billing-period-end">–</dd></div>
    </dl>
    <p id="billing-message"></p>
    <div id="plan-buttons" class="actions"></div>
    <figure class="chart">
      <svg id="usage-chart" role="img" aria-labelledby="usage-caption" viewBox="0 0 300 80" preserveAspectRatio="none"></svg>
      <figcaption id="usage-caption">Credits used per day, last 30 days</figcaption>
    </figure>
  </section>

  <section aria-labelledby="h-look" hidden>
    <h2 id="h-look">Look</h2>
    <div class="split">
      <form id="look-form" novalidate>
        <label>Accent colour <input type="color" name="accent"></label>
        <label>Background colour <input type="color" name="background"></label>
        <label>Text colour <input type="color" name="text"></label>
        <label>Font <input type="text" name="fontFamily" placeholder="e.g. Georgia, serif" maxlength="200"></label>
        <label>Corner radius (px) <input type="number" name="radius" min="0" max="64" step="1"></label>
        <fieldset>
          <legend>Texts (English)</legend>
          <label>Generate button <input type="text" name="generate" maxlength="500"></label>
          <label>Prompt label <input type="text" name="promptLabel" maxlength="500"></label>
          <label>Launcher button <input type="text" name="launcher" maxlength="500"></label>
        </fieldset>
        <button type="submit">Save the look</button>
        <p class="form-status" role="status" aria-live="polite"></p>
      </form>
      <div class="preview">
        <h3>Preview</h3>
        <atelier-studio id="preview" mode="inline"></atelier-studio>
      </div>
    </div>
  </section>

  <section aria-labelledby="h-offer" hidden>
    <h2 id="h-offer">What shoppers can choose</h2>
    <form id="offer-form" novalidate>
      <fieldset>
        <legend>Styles (none ticked: every style)</legend>
        <div id="style-options" class="options"></div>
      </fieldset>
      <fieldset>
        <legend>Speed and quality</legend>
        <div id="preset-options" class="options"></div>
        <label>Start on <select name="defaultPreset"></select></label>
      </fieldset>
      <button type="submit">Save the choices</button>
      <p class="form-status" role="status" aria-live="polite"></p>
    </form>
  </section>

  <section aria-labelledby="h-quotas" hidden>
    <h2 id="h-quotas">Pictures per shopper per day</h2>
    <form id="quota-form" novalidate>
      <label>Guests <input type="number" name="guestPerDay" min="0" max="1000" step="1" required></label>
      <label>Logged-in customers <input type="number" name="customerPerDay" min="0" max="1000" step="1" required></label>
      <button type="submit">Save the limits</button>
      <p class="form-status" role="status" aria-live="polite"></p>
    </form>
  </section>

  <section aria-labelledby="h-results" hidden>
    <h2 id="h-results">Shoppers' pictures</h2>
    <p>Approve a picture a shopper picked (picking it is their consent) to add it to one of your products.</p>
    <p id="results-empty" hidden>No pictures yet.</p>
    <ul id="results" class="results"></ul>
  </section>
</main>
</body>
</html>
`;
}

function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);
}
