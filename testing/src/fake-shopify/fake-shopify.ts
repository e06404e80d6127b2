import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { FakeBilling } from './fake-billing.js';
import { APP_BRIDGE_STAND_IN, fakeAdminPage } from './fake-admin.js';
import { FakeProducts, type FakeProduct } from './fake-products.js';
import { operationCost, parseSelection, resolve } from './graphql-selection.js';
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

/** One request the fake answered, for tests to look at. */
export interface FakeShopifyRequest {
  method: string;
  path: string;
  shop: string | undefined;
  status: number;
  /** `authorization_code`, the token-exchange grant, or the GraphQL operation's top-level fields. */
  detail: string;
}

/**
 * How a request Shopify does not carry out is answered: `userErrors` (a mutation refused,
 * its payload's `userErrors` filled and nothing changed), `throttled` (the `THROTTLED`
 * error with the bucket's cost extensions) or `internal` (Shopify's internal error, in a
 * 200 as its GraphQL answers it).
 */
export type FakeFailure = 'userErrors' | 'throttled' | 'internal';

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
  /** App subscriptions, usage records, the app's installation and its metafields (fake-billing.ts). */
  readonly billing: FakeBilling;
  /** Where Shopify delivers the app's webhooks (the app's `/shopify/webhooks`); none are sent while unset. */
  webhookUrl: string | undefined;
  private readonly shops = new Map<string, FakeShop>();
  /** Access token → the shop it opens. */
  private readonly tokens = new Map<string, string>();
  private readonly codes = new Map<string, { shop: string; expires: number }>();
  private readonly buckets = new Map<string, Bucket>();
  /** Root field → the failures its next requests get, in order. */
  private readonly failures = new Map<string, FakeFailure[]>();
  /** The shops' products and the media `productCreateMedia` adds (fake-products.ts). */
  readonly products: FakeProducts;
  private server: Server | undefined;
  origin = '';
  /** The app's URL (its `application_url`), which the fake admin frames; set once the app listens. */
  appUrl = '';

  constructor(private readonly options: FakeShopifyOptions) {
    this.signer = new ShopifySigner(options.apiKey, options.apiSecret);
    this.billing = new FakeBilling(this);
    this.products = new FakeProducts(options.scopes);
  }

  /** Whether the fake knows this shop. */
  hasShop(shop: string): boolean {
    return this.shops.has(shop);
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
    await this.products.settle();
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

  /** A product in the shop's catalogue. */
  addProduct(shop: string, title: string): FakeProduct {
    return this.products.add(shop, title);
  }

  productsOf(shop: string): FakeProduct[] {
    return this.products.of(shop);
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
    this.billing.uninstall(shop);
  }

  /** The next `times` Admin GraphQL requests that select the root field `field` fail as `how` says. */
  failNext(field: string, how: FakeFailure, times = 1): void {
    this.failures.set(field, [...(this.failures.get(field) ?? []), ...Array<FakeFailure>(times).fill(how)]);
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
    if (await this.billing.handle(shop, req.method ?? '', url, body, res, log)) return;
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
    const html = fakeAdminPage(`${this.appUrl}?${query.toString()}`, `/store/${shop.split('.')[0]}/session-token`);
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
    let document: string;
    let variables: Record<string, unknown>;
    try {
      const parsed = JSON.parse(body) as { query?: unknown; variables?: unknown };
      document = String(parsed.query);
      variables =
        typeof parsed.variables === 'object' && parsed.variables !== null ? (parsed.variables as Record<string, unknown>) : {};
      selections = parseSelection(document);
    } catch (error) {
      log(400, 'graphql: parse error');
      return send(res, 400, { errors: [{ message: (error as Error).message, extensions: { code: 'BAD_REQUEST' } }] });
    }
    const cost = operationCost(document, selections);
    const bucket = this.refill(shop);
    const detail = `graphql: ${selections.map((s) => s.name).join(',')}`;
    const failing = selections.find((selection) => this.failures.get(selection.name)?.length);
    const failure = failing ? this.failures.get(failing.name)!.shift() : undefined;
    if (failure === 'internal') {
      log(200, `${detail} INTERNAL_SERVER_ERROR`);
      return send(res, 200, {
        errors: [
          {
            message: `Internal error. Looks like something went wrong on our end.\nRequest ID: ${randomBytes(8).toString('hex')}`,
            extensions: { code: 'INTERNAL_SERVER_ERROR' },
          },
        ],
      });
    }
    if (failure === 'userErrors') {
      bucket.available -= cost;
      log(200, `${detail} userErrors`);
      const payload = Object.fromEntries(
        failing!.children.map((child) => [
          child.name,
          child.name === 'userErrors' ? [{ field: null, message: 'The request could not be completed.', code: 'INVALID' }] : null,
        ]),
      );
      return send(res, 200, {
        data: { [failing!.name]: payload },
        extensions: { cost: { requestedQueryCost: cost, actualQueryCost: cost, throttleStatus: this.status(bucket) } },
      });
    }
    if (failure === 'throttled' || bucket.available < cost) {
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
      // The billing and product fields are getters: a mutation runs only when it is selected.
      const root = Object.defineProperties(
        { shop: this.shops.get(shop) },
        {
          ...Object.getOwnPropertyDescriptors(this.billing.rootFields(shop, variables)),
          ...Object.getOwnPropertyDescriptors(this.products.rootFields(shop, variables)),
        },
      );
      data = resolve(selections, root);
    } catch (error) {
      bucket.available += cost;
      log(200, `${detail} error`);
      return send(res, 200, { errors: [{ message: (error as Error).message, extensions: { code: 'undefinedField' } }] });
    }
    log(200, detail);
    const answer = () =>
      send(res, 200, {
        data,
        extensions: { cost: { requestedQueryCost: cost, actualQueryCost: cost, throttleStatus: this.status(bucket) } },
      });
    const gate = this.billing.answerGate(selections.map((s) => s.name));
    if (gate) void gate.then(answer);
    else answer();
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
