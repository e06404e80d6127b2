import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseSelection, queryCost, resolve } from './graphql-selection.js';
import { ShopifySigner, verifyJwt } from './shopify-signer.js';

const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const ID_TOKEN = 'urn:ietf:params:oauth:token-type:id_token';
const OFFLINE = 'urn:shopify:params:oauth:token-type:offline-access-token';
const ONLINE = 'urn:shopify:params:oauth:token-type:online-access-token';

/** A shop as the fake Admin API reports it (`shop { … }`). */
export interface FakeShop {
  name: string;
  email: string;
  myshopifyDomain: string;
  currencyCode: string;
  primaryDomain: { url: string; host: string };
  plan: { displayName: string; partnerDevelopment: boolean; shopifyPlus: boolean };
}

/** A product of a fake shop, with the media the app added to it. */
export interface FakeProduct {
  id: string;
  title: string;
  media: FakeMedia[];
}

/** Media made by `productCreateMedia`: `UPLOADED`, then `READY` once the fake fetched the source (or `FAILED`). */
export interface FakeMedia {
  id: string;
  alt: string;
  mediaContentType: 'IMAGE';
  status: 'UPLOADED' | 'READY' | 'FAILED';
  originalSource: string;
  /** What fetching the source gave: its content type and size. */
  fetched: { contentType: string; bytes: number } | null;
}

/** One request the fake answered, for tests to look at. */
export interface FakeShopifyRequest {
  method: string;
  path: string;
  shop: string | undefined;
  status: number;
  /** `authorization_code`, the token-exchange grant, or the GraphQL operation's top-level fields. */
  detail: string;
}

interface Bucket {
  available: number;
  at: number;
}

export interface FakeShopifyOptions {
  apiKey: string;
  apiSecret: string;
  /** The access scopes the app is granted. */
  scopes: string[];
  /** Admin GraphQL throttling: bucket size and points restored a second (Shopify's standard plan: 2000 and 100). */
  bucketSize?: number;
  restoreRate?: number;
}

/**
 * A local Shopify for the app's tests: an HTTP server answering the endpoints the app
 * calls, as Shopify answers them — `POST /admin/oauth/access_token` (the
 * authorization-code grant and token exchange), `GET /admin/oauth/authorize` (the
 * merchant approves and is sent back with a signed code), and the Admin GraphQL API
 * with its calculated cost and leaky-bucket throttling (`THROTTLED` when the bucket is
 * empty). The shop is the request's host; the app reaches the fake through
 * `ATELIER_SHOPIFY_API_ORIGIN`, which names it in `X-Forwarded-Host`.
 */
export class FakeShopify {
  readonly signer: ShopifySigner;
  readonly requests: FakeShopifyRequest[] = [];
  private readonly shops = new Map<string, FakeShop>();
  /** Access token → the shop it opens. */
  private readonly tokens = new Map<string, string>();
  private readonly codes = new Map<string, { shop: string; expires: number }>();
  private readonly buckets = new Map<string, Bucket>();
  private readonly products = new Map<string, FakeProduct[]>();
  private readonly fetches = new Set<Promise<void>>();
  private nextId = 1;
  private server: Server | undefined;
  origin = '';
  /** The app's URL (its `application_url`), which the fake admin frames; set once the app listens. */
  appUrl = '';

  constructor(private readonly options: FakeShopifyOptions) {
    this.signer = new ShopifySigner(options.apiKey, options.apiSecret);
  }

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((error: unknown) => send(res, 500, { errors: String(error) }));
    });
    await new Promise<void>((done) => this.server!.listen(0, '127.0.0.1', done));
    this.origin = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    await Promise.all(this.fetches);
    await new Promise<void>((done) => {
      this.server?.close(() => done());
      this.server?.closeAllConnections();
    });
  }

  /** A development store the app can be installed on. */
  addShop(domain: string, details: Partial<Omit<FakeShop, 'myshopifyDomain'>> = {}): FakeShop {
    const name = domain.split('.')[0]!;
    const shop: FakeShop = {
      name: details.name ?? `Shop ${name}`,
      email: details.email ?? `owner@${name}.example`,
      myshopifyDomain: domain,
      currencyCode: details.currencyCode ?? 'EUR',
      primaryDomain: details.primaryDomain ?? { url: `https://${domain}`, host: domain },
      plan: details.plan ?? { displayName: 'Development', partnerDevelopment: true, shopifyPlus: false },
    };
    this.shops.set(domain, shop);
    return shop;
  }

  /** A product in the shop's catalogue; its Admin API id. */
  addProduct(shop: string, title: string): FakeProduct {
    const product: FakeProduct = { id: `gid://shopify/Product/${this.nextId++}`, title, media: [] };
    this.products.set(shop, [...(this.products.get(shop) ?? []), product]);
    return product;
  }

  productsOf(shop: string): FakeProduct[] {
    return this.products.get(shop) ?? [];
  }

  /** The embedded admin's page of the app for this shop, as `admin.shopify.com/store/<name>/apps/<handle>`. */
  adminUrl(shop: string, handle = 'atelier'): string {
    return `${this.origin}/store/${shop.split('.')[0]}/apps/${handle}`;
  }

  /** The tokens Shopify issued to the app for this shop (what an uninstall revokes). */
  tokensOf(shop: string): string[] {
    return [...this.tokens].filter(([, owner]) => owner === shop).map(([token]) => token);
  }

  /** The merchant uninstalls the app: Shopify revokes its tokens at once. */
  uninstall(shop: string): void {
    for (const token of this.tokensOf(shop)) this.tokens.delete(token);
  }

  /** Empties the shop's GraphQL bucket (as a burst of expensive queries would). */
  drainBucket(shop: string): void {
    this.buckets.set(shop, { available: 0, at: Date.now() });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://fake');
    if (req.method === 'GET' && url.pathname === '/app-bridge.js') {
      return void res.writeHead(200, { 'Content-Type': 'text/javascript; charset=utf-8' }).end(APP_BRIDGE_STAND_IN);
    }
    const admin = /^\/store\/([a-z0-9][a-z0-9-]*)\/(apps\/[a-z0-9-]+|session-token)$/.exec(url.pathname);
    if (admin) return this.admin(`${admin[1]}.myshopify.com`, admin[2]!, req, res);
    const host = (req.headers['x-forwarded-host'] as string | undefined) ?? req.headers.host?.split(':')[0];
    const shop = host && this.shops.has(host) ? host : undefined;
    const log = (status: number, detail: string) =>
      this.requests.push({ method: req.method ?? '', path: url.pathname, shop, status, detail });
    if (!shop) {
      log(404, 'unknown shop');
      return send(res, 404, { errors: 'Not Found' });
    }
    if (req.method === 'GET' && url.pathname === '/admin/oauth/authorize') return this.authorize(shop, url, res, log);
    const body = await readBody(req);
    if (req.method === 'POST' && url.pathname === '/admin/oauth/access_token') {
      return this.accessToken(shop, parseForm(req, body), res, log);
    }
    const graphql = /^\/admin\/api\/(\d{4}-\d{2}|unstable)\/graphql\.json$/.exec(url.pathname);
    if (req.method === 'POST' && graphql) return this.graphql(shop, req, body, res, log);
    log(404, 'no such endpoint');
    send(res, 404, { errors: 'Not Found' });
  }

  /**
   * The Shopify admin around the embedded app: the page framing the app URL (with the
   * query Shopify adds), which answers App Bridge's messages from the frame — a session
   * token signed by this fake for the shop, toasts and top-level navigation, both shown
   * in the page for tests to read.
   */
  private admin(shop: string, what: string, req: IncomingMessage, res: ServerResponse): void {
    if (!this.shops.has(shop)) return send(res, 404, { errors: 'Not Found' });
    if (what === 'session-token') {
      if (req.method !== 'POST') return send(res, 405, { errors: 'Method Not Allowed' });
      this.requests.push({ method: 'POST', path: '/store/session-token', shop, status: 200, detail: 'session token' });
      return send(res, 200, { token: this.signer.sessionToken({ shop }) });
    }
    const query = this.signer.adminQuery({
      embedded: '1',
      host: Buffer.from(`admin.shopify.com/store/${shop.split('.')[0]}`).toString('base64url'),
      shop,
      timestamp: String(Math.floor(Date.now() / 1000)),
    });
    const html = FAKE_ADMIN_PAGE.replace('%APP_URL%', escapeAttribute(`${this.appUrl}?${query.toString()}`)).replace(
      '%TOKEN_URL%',
      escapeAttribute(`/store/${shop.split('.')[0]}/session-token`),
    );
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' }).end(html);
  }

  /** The merchant approved the app: back to `redirect_uri` with a code, signed. */
  private authorize(shop: string, url: URL, res: ServerResponse, log: (status: number, detail: string) => void): void {
    const redirect = url.searchParams.get('redirect_uri');
    const state = url.searchParams.get('state');
    if (url.searchParams.get('client_id') !== this.options.apiKey || !redirect || !state) {
      log(400, 'authorize: bad request');
      return send(res, 400, { error: 'invalid_request' });
    }
    const code = randomBytes(16).toString('hex');
    this.codes.set(code, { shop, expires: Date.now() + 60_000 });
    const query = this.signer.adminQuery({
      code,
      host: Buffer.from(`admin.shopify.com/store/${shop.split('.')[0]}`).toString('base64url'),
      shop,
      state,
      timestamp: String(Math.floor(Date.now() / 1000)),
    });
    log(302, 'authorize');
    res.writeHead(302, { Location: `${redirect}?${query.toString()}` }).end();
  }

  private accessToken(
    shop: string,
    body: Record<string, string>,
    res: ServerResponse,
    log: (status: number, detail: string) => void,
  ): void {
    const refuse = (error: string, description: string) => {
      log(400, `${body.grant_type ?? 'authorization_code'}: ${error}`);
      send(res, 400, { error, error_description: description });
    };
    if (body.client_id !== this.options.apiKey || !sameString(body.client_secret ?? '', this.options.apiSecret)) {
      return refuse('invalid_client', 'Client authentication failed.');
    }
    if (body.grant_type === TOKEN_EXCHANGE) {
      if (body.subject_token_type !== ID_TOKEN) return refuse('invalid_request', 'subject_token_type must be an id_token.');
      const claims = verifyJwt(body.subject_token ?? '', this.options.apiSecret);
      const now = Math.floor(Date.now() / 1000);
      if (
        !claims ||
        claims.aud !== this.options.apiKey ||
        claims.dest !== `https://${shop}` ||
        typeof claims.exp !== 'number' ||
        claims.exp < now ||
        (typeof claims.nbf === 'number' && claims.nbf > now + 5)
      ) {
        return refuse('invalid_subject_token', 'The subject token is invalid.');
      }
      if (body.requested_token_type !== OFFLINE && body.requested_token_type !== ONLINE) {
        return refuse('invalid_request', 'requested_token_type is not supported.');
      }
      log(200, 'token-exchange');
      return send(res, 200, this.issue(shop, body.requested_token_type === ONLINE ? String(claims.sub) : undefined));
    }
    const grant = this.codes.get(body.code ?? '');
    this.codes.delete(body.code ?? '');
    if (!grant || grant.shop !== shop || grant.expires < Date.now()) {
      return refuse('invalid_request', 'The authorization code was not found or was already used.');
    }
    log(200, 'authorization_code');
    send(res, 200, this.issue(shop, undefined));
  }

  private issue(shop: string, userId: string | undefined): Record<string, unknown> {
    const token = `${userId ? 'shpua' : 'shpat'}_${randomBytes(16).toString('hex')}`;
    this.tokens.set(token, shop);
    const scope = this.options.scopes.join(',');
    if (!userId) return { access_token: token, scope };
    return {
      access_token: token,
      scope,
      expires_in: 86_399,
      associated_user_scope: scope,
      associated_user: {
        id: Number(userId),
        first_name: 'Staff',
        last_name: 'Member',
        email: `staff${userId}@example.com`,
        account_owner: true,
        locale: 'en',
        collaborator: false,
        email_verified: true,
      },
    };
  }

  private graphql(
    shop: string,
    req: IncomingMessage,
    body: string,
    res: ServerResponse,
    log: (status: number, detail: string) => void,
  ): void {
    const token = req.headers['x-shopify-access-token'];
    if (typeof token !== 'string' || this.tokens.get(token) !== shop) {
      log(401, 'graphql: bad token');
      return send(res, 401, { errors: '[API] Invalid API key or access token (unrecognized login or wrong password)' });
    }
    let selections;
    let mutation: boolean;
    let variables: Record<string, unknown>;
    try {
      const parsed = JSON.parse(body) as { query?: unknown; variables?: Record<string, unknown> };
      selections = parseSelection(String(parsed.query));
      mutation = /^\s*mutation\b/.test(String(parsed.query).replace(/#[^\n]*/g, ''));
      variables = parsed.variables ?? {};
    } catch (error) {
      log(400, 'graphql: parse error');
      return send(res, 400, { errors: [{ message: (error as Error).message, extensions: { code: 'BAD_REQUEST' } }] });
    }
    // Shopify prices every mutation at 10 points.
    const cost = mutation ? 10 : queryCost(selections);
    const bucket = this.refill(shop);
    const detail = `graphql: ${selections.map((s) => s.name).join(',')}`;
    if (bucket.available < cost) {
      log(200, `${detail} THROTTLED`);
      return send(res, 200, {
        errors: [
          { message: 'Throttled', extensions: { code: 'THROTTLED', documentation: 'https://shopify.dev/api/usage/rate-limits' } },
        ],
        extensions: { cost: { requestedQueryCost: cost, actualQueryCost: null, throttleStatus: this.status(bucket) } },
      });
    }
    bucket.available -= cost;
    let data;
    try {
      const root = mutation
        ? this.mutations(shop, selections, variables)
        : { shop: this.shops.get(shop), products: { nodes: [...this.productsOf(shop)].reverse() } };
      data = resolve(selections, root);
    } catch (error) {
      bucket.available += cost;
      log(200, `${detail} error`);
      return send(res, 200, { errors: [{ message: (error as Error).message, extensions: { code: 'undefinedField' } }] });
    }
    log(200, detail);
    send(res, 200, {
      data,
      extensions: { cost: { requestedQueryCost: cost, actualQueryCost: cost, throttleStatus: this.status(bucket) } },
    });
  }

  /** The mutations the app runs; the value its selections are resolved against. */
  private mutations(shop: string, selections: { name: string }[], variables: Record<string, unknown>): Record<string, unknown> {
    const root: Record<string, unknown> = {};
    for (const { name } of selections) {
      if (name !== 'productCreateMedia') throw new Error(`Field '${name}' doesn't exist on type 'Mutation'`);
      if (!this.options.scopes.includes('write_products')) throw new Error('Access denied for productCreateMedia field.');
      root.productCreateMedia = this.createMedia(shop, variables);
    }
    return root;
  }

  private createMedia(shop: string, variables: Record<string, unknown>) {
    const product = this.productsOf(shop).find((candidate) => candidate.id === variables.productId);
    const userError = (field: string[], message: string, code: string) => ({
      media: [],
      mediaUserErrors: [{ field, message, code }],
    });
    if (!product) return userError(['productId'], 'Product does not exist', 'PRODUCT_DOES_NOT_EXIST');
    const inputs = Array.isArray(variables.media) ? (variables.media as Record<string, unknown>[]) : [];
    const made: FakeMedia[] = [];
    for (const [n, input] of inputs.entries()) {
      const source = typeof input.originalSource === 'string' ? input.originalSource : '';
      if (!/^https?:\/\//.test(source))
        return userError(['media', String(n), 'originalSource'], 'Image URL is invalid', 'INVALID');
      made.push({
        id: `gid://shopify/MediaImage/${this.nextId++}`,
        alt: typeof input.alt === 'string' ? input.alt : '',
        mediaContentType: 'IMAGE',
        status: 'UPLOADED',
        originalSource: source,
        fetched: null,
      });
    }
    product.media.push(...made);
    // Shopify answers at once and fetches the source afterwards.
    for (const media of made) {
      const fetching = this.fetchSource(media).finally(() => this.fetches.delete(fetching));
      this.fetches.add(fetching);
    }
    return {
      media: made.map(({ id, alt, mediaContentType, status }) => ({ id, alt, mediaContentType, status })),
      mediaUserErrors: [],
    };
  }

  private async fetchSource(media: FakeMedia): Promise<void> {
    try {
      const response = await fetch(media.originalSource, { signal: AbortSignal.timeout(10_000) });
      const bytes = (await response.arrayBuffer()).byteLength;
      const contentType = response.headers.get('content-type') ?? '';
      media.fetched = { contentType, bytes };
      media.status = response.ok && contentType.startsWith('image/') && bytes > 0 ? 'READY' : 'FAILED';
    } catch {
      media.status = 'FAILED';
    }
  }

  private refill(shop: string): Bucket {
    const size = this.options.bucketSize ?? 2000;
    const rate = this.options.restoreRate ?? 100;
    const now = Date.now();
    const bucket = this.buckets.get(shop) ?? { available: size, at: now };
    bucket.available = Math.min(size, bucket.available + ((now - bucket.at) / 1000) * rate);
    bucket.at = now;
    this.buckets.set(shop, bucket);
    return bucket;
  }

  private status(bucket: Bucket) {
    return {
      maximumAvailable: this.options.bucketSize ?? 2000,
      currentlyAvailable: Math.floor(bucket.available),
      restoreRate: this.options.restoreRate ?? 100,
    };
  }
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8' }).end(JSON.stringify(body));
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((done, fail) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (body += chunk));
    req.on('end', () => done(body));
    req.on('error', fail);
  });
}

/** Shopify takes the token request as JSON or as a form. */
function parseForm(req: IncomingMessage, body: string): Record<string, string> {
  if ((req.headers['content-type'] ?? '').includes('application/json')) {
    try {
      const parsed = JSON.parse(body) as Record<string, unknown>;
      return Object.fromEntries(Object.entries(parsed).map(([key, value]) => [key, String(value)]));
    } catch {
      return {};
    }
  }
  return Object.fromEntries(new URLSearchParams(body));
}

function sameString(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

function escapeAttribute(value: string): string {
  return value.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);
}

/**
 * Stands in for Shopify's App Bridge (`cdn.shopify.com/shopifycloud/app-bridge.js`) in
 * the app's frame: the parts the app uses — `shopify.idToken()`, `shopify.toast.show()`
 * and `open(url, '_top')` — as messages to the admin page around it (this fake's), which
 * answers with a session token it signed.
 */
const APP_BRIDGE_STAND_IN = `(() => {
  const admin = new URL(document.currentScript.src).origin;
  const waiting = new Map();
  let next = 0;
  const post = (message) => window.parent.postMessage({ fakeAppBridge: true, ...message }, admin);
  window.addEventListener('message', (event) => {
    if (event.origin !== admin || event.source !== window.parent) return;
    const wait = waiting.get(event.data && event.data.id);
    if (!wait) return;
    waiting.delete(event.data.id);
    if (event.data.token) wait.resolve(event.data.token);
    else wait.reject(new Error('no session token'));
  });
  window.shopify = {
    config: {
      apiKey: document.querySelector('meta[name="shopify-api-key"]')?.content,
      shop: new URLSearchParams(location.search).get('shop'),
    },
    idToken: () =>
      new Promise((resolve, reject) => {
        const id = ++next;
        waiting.set(id, { resolve, reject });
        post({ type: 'idToken', id });
      }),
    toast: { show: (message) => post({ type: 'toast', message: String(message) }) },
  };
  const nativeOpen = window.open.bind(window);
  window.open = (url, target, features) => {
    if (target === '_top' || target === '_parent') {
      post({ type: 'open', url: String(url) });
      return null;
    }
    return nativeOpen(url, target, features);
  };
})();
`;

/** The admin around the app's frame: answers App Bridge's messages and lists toasts and navigations. */
const FAKE_ADMIN_PAGE = `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Shopify admin (fake)</title></head>
<body>
<h1>Apps › Atelier</h1>
<ol id="toasts" aria-label="Toasts"></ol>
<ol id="opened" aria-label="Top-level navigations"></ol>
<iframe id="app" title="Atelier" src="%APP_URL%" width="1100" height="2400"></iframe>
<script>
  const frame = document.getElementById('app');
  const appOrigin = new URL(frame.src).origin;
  const list = (id, text) => {
    const item = document.createElement('li');
    item.textContent = text;
    document.getElementById(id).append(item);
  };
  window.addEventListener('message', async (event) => {
    if (event.source !== frame.contentWindow || event.origin !== appOrigin || !event.data || !event.data.fakeAppBridge) return;
    const { type, id } = event.data;
    if (type === 'idToken') {
      const response = await fetch('%TOKEN_URL%', { method: 'POST' });
      const { token } = await response.json();
      frame.contentWindow.postMessage({ id, token }, appOrigin);
    } else if (type === 'toast') list('toasts', event.data.message);
    else if (type === 'open') list('opened', event.data.url);
  });
</script>
</body>
</html>
`;
