import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { REALTIME_CLOSE, REALTIME_PROTOCOL_VERSION, STUDIO_PATH, type ServerMessage } from '@atelier/protocol';
import { clientMessageSchema } from '@atelier/protocol/schemas';
import {
  completeJob,
  connectRunner,
  connectWidget,
  createGeneration,
  expectProblem,
  openEventStream,
  openWidgetSocket,
  pngBytes,
  readJob,
  startShopifyTestApp,
  tinyKohyaLora,
  viewGeneration,
  type RunnerProbe,
  type ShopifyTestApp,
  type TestServer,
  type WidgetProbe,
} from '@atelier/testing';
import { runAsSystem, runWithTenant } from '../tenancy/tenant-context.js';

/**
 * The isolation matrix (issue 6, "Proof"): every route the server answers and every
 * message a widget may send has an entry here. An entry for something that names a
 * tenant's resource creates it as tenant A (Acme) and tries it as tenant B (Globex),
 * with B's secret key, on B's publishable-key socket and on B's socket with a shopper
 * session: each attempt is `not_found`, shows nothing of A's, and leaves A's data as it
 * was (checked after every entry). An entry for something that names nothing of
 * another tenant's says why, and checks what B gets holds only B's.
 */

const ACME_ORIGIN = 'https://acme.test';
const GLOBEX_ORIGIN = 'https://globex.test';
const ACME_PROMPT = 'acme-only walnut lamp';
const UNKNOWN_GENERATION = 'gen_00000000000000000000';
/**
 * The widget router's route for the content-hashed studio bundle, once the widget is a
 * loader plus a studio; the route table lists a pattern route by its RegExp.
 */

type Tenant = { tenantId: string; secretKey: string; publishableKey: string };

let shopifyApp: ShopifyTestApp;
let server: TestServer;
let runner: RunnerProbe;
let acme: Tenant;
let globex: Tenant;
/** What A owns, by kind; every id here must stay out of every answer B gets. */
const a = {
  done: '',
  queued: '',
  widgetJob: '',
  widgetRef: 'acme-ref-1',
  image: { id: '', url: '' },
  keyId: '',
  idempotencyKey: 'acme-order-1',
  resumeToken: '',
  shopperToken: '',
  webhookEndpoint: '',
  webhookDelivery: '',
  auditEvent: '',
};
let globexShopperToken: string;
const sockets: WidgetProbe[] = [];
let baseline: unknown;

/**
 * The Shopify app's routes, on the same server (the app switched on, against the fake
 * Shopify): shop A (Acme's shop) has a paid plan and a customer's data request; shop B
 * is installed beside it. A shop is named by Shopify's signatures (session token,
 * webhook HMAC, app-proxy signature), never by a parameter the app believes.
 */
const SHOP_A = 'acme-matrix.myshopify.com';
const SHOP_B = 'globex-matrix.myshopify.com';
const SHOP_A_PROMPT = 'shop-a-only linen teapot';
const SHOP_A_FONT = 'ShopAOnlyFont';
const SHOP_A_PRODUCT = 'Shop A only walnut stool';
const shopA = {
  tenantId: '',
  exportId: '',
  subscriptionId: '',
  /** A shopper's finished picture, picked (consent) and approved, and the shopper's session. */
  imageId: '',
  shopperSession: '',
  productId: '',
};
let shopBTenantId = '';
const UNKNOWN_IMAGE = 'img_00000000000000000000';
let shopBaseline: unknown;

const shopToken = (shop: string) => shopifyApp.shopify.signer.sessionToken({ shop });
function asShop(shop: string, method: string, path: string, body?: string): Promise<Response> {
  return fetch(new URL(path, server.url), {
    method,
    redirect: 'manual',
    headers: { Authorization: `Bearer ${shopToken(shop)}`, 'Content-Type': 'application/json' },
    ...(body === undefined ? {} : { body }),
  });
}

/** Everything of shop A's: must be as it was after every entry. */
async function shopAState(): Promise<unknown> {
  const { Shop, Subscription, DataExport, UsageCharge, Result } = server.shopify!.models;
  const tenant = await runAsSystem('test: shop A tenant', () => server.database.models.Tenant.findById(shopA.tenantId).lean());
  return {
    // The shop's record holds its quotas.
    shop: await Shop.findById(SHOP_A).lean(),
    results: await Result.find({ shop: SHOP_A }).sort({ _id: 1 }).lean(),
    resultsOfAImage: await Result.find({ _id: shopA.imageId }).lean(),
    config: await runWithTenant(shopA.tenantId, () => server.services.configs.get()),
    generations: await runWithTenant(shopA.tenantId, async () =>
      (await server.database.models.Generation.find().sort({ _id: 1 }).lean()).map((g) => [g._id, g.status, g.images.length]),
    ),
    products: shopifyApp.shopify.productsOf(SHOP_A).map((product) => [product.id, product.media.length]),
    subscriptions: await Subscription.find({ shop: SHOP_A }).sort({ _id: 1 }).lean(),
    exports: await DataExport.find({ shop: SHOP_A }).sort({ _id: 1 }).lean(),
    charges: await UsageCharge.countDocuments({ shop: SHOP_A }),
    tenant: [tenant?.status, tenant?.plan, tenant?.name],
  };
}

function expectNothingOfShopA(text: string): void {
  for (const secret of [
    SHOP_A,
    shopA.tenantId,
    shopA.exportId,
    shopA.subscriptionId,
    shopA.imageId,
    shopA.productId,
    SHOP_A_PROMPT,
    SHOP_A_FONT,
    SHOP_A_PRODUCT,
  ]) {
    expect(text).not.toContain(secret);
  }
}

/** A signed webhook delivery (the header's shop, the body as given). */
function shopWebhook(shop: string, topic: string, payload: unknown, eventId?: string): Promise<Response> {
  const signed = shopifyApp.shopify.signer.webhook({ topic, shop, payload, ...(eventId ? { eventId } : {}) });
  return fetch(new URL('/shopify/webhooks', server.url), { method: 'POST', headers: signed.headers, body: signed.body });
}

async function installShops(): Promise<void> {
  for (const shop of [SHOP_A, SHOP_B]) {
    shopifyApp.shopify.addShop(shop, { name: shop === SHOP_A ? 'Acme Shop' : 'Globex Shop' });
    const response = await asShop(shop, 'GET', '/shopify/api/shop');
    expect(response.status).toBe(200);
    const { tenantId } = (await response.json()) as { tenantId: string };
    if (shop === SHOP_A) shopA.tenantId = tenantId;
    else shopBTenantId = tenantId;
  }
  const subscribe = await asShop(SHOP_A, 'POST', '/shopify/api/billing/subscribe', '{"plan":"basic"}');
  const { confirmationUrl } = (await subscribe.json()) as { confirmationUrl: string };
  expect((await fetch(await shopifyApp.shopify.billing.approve(confirmationUrl), { redirect: 'manual' })).status).toBe(302);
  await vi.waitFor(async () => {
    const active = await server.shopify!.models.Subscription.findOne({ shop: SHOP_A, status: 'ACTIVE' }).lean();
    expect(active).not.toBeNull();
    shopA.subscriptionId = active!._id;
  });
  const payload = { shop_id: 1, shop_domain: SHOP_A, customer: { id: 5150 }, data_request: { id: 1 } };
  expect((await shopWebhook(SHOP_A, 'customers/data_request', payload, 'matrix-data-request')).status).toBe(200);
  await vi.waitFor(async () => {
    const record = await server.shopify!.models.DataExport.findOne({ shop: SHOP_A }).lean();
    expect(record).not.toBeNull();
    shopA.exportId = record!._id;
  });
  expect(
    (await asShop(SHOP_A, 'PUT', '/shopify/api/settings', JSON.stringify({ branding: { fontFamily: SHOP_A_FONT } }))).status,
  ).toBe(200);
  expect((await asShop(SHOP_A, 'PUT', '/shopify/api/quotas', '{"guestPerDay":4,"customerPerDay":11}')).status).toBe(200);
  shopA.productId = shopifyApp.shopify.addProduct(SHOP_A, SHOP_A_PRODUCT).id;
  await shopAPicture();
  shopBaseline = await shopAState();
}

/** A storefront shopper's picture in shop A (made on the runner, which then stays busy), picked and approved. */
async function shopAPicture(): Promise<void> {
  const session = await fetch(
    new URL(`/shopify/proxy/session?${shopifyApp.shopify.signer.proxyQuery({ shop: SHOP_A }).toString()}`, server.url),
  );
  shopA.shopperSession = ((await session.json()) as { token: string }).token;
  const { publishableKey } = (await server.shopify!.models.Shop.findById(SHOP_A).lean())!;
  const widget = await openWidgetSocket(server.url, publishableKey!, `https://${SHOP_A}`);
  sockets.push(widget);
  widget.send({ type: 'hello', v: REALTIME_PROTOCOL_VERSION, shopper: shopA.shopperSession });
  await widget.receive('welcome');
  widget.send({ type: 'generate', ref: 'shop-a', params: { prompt: SHOP_A_PROMPT } });
  const accepted = await widget.receive('accepted');
  runner.send({ type: 'ready' });
  const job = await runner.receive('job', (message) => message.jobId === accepted.id);
  completeJob(runner, job, [await pngBytes(40, 120, 60)]);
  shopA.imageId = (await widget.receive('completed', (message) => message.id === accepted.id)).images[0]!.id;
  expect((await shopPick(SHOP_A, shopA.shopperSession, shopA.imageId)).status).toBe(204);
  expect((await asShop(SHOP_A, 'POST', `/shopify/api/results/${shopA.imageId}/approve`)).status).toBe(200);
}

/** A storefront pick through the app proxy, the query signed by Shopify for `shop`. */
function shopPick(shop: string, sessionToken: string, imageId: string): Promise<Response> {
  const query = shopifyApp.shopify.signer.proxyQuery({ shop }).toString();
  return fetch(new URL(`/shopify/proxy/picks?${query}`, server.url), {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ imageId, sessionToken }),
  });
}

/** Shop B naming A's picture is answered exactly as naming none. */
async function shopBNotFoundLikeUnknown(method: string, path: (imageId: string) => string, body?: string): Promise<void> {
  const foreign = await asShop(SHOP_B, method, path(shopA.imageId), body);
  const unknown = await asShop(SHOP_B, method, path(UNKNOWN_IMAGE), body);
  const text = await foreign.clone().text();
  const [f, u] = [await expectProblem(foreign, 404, 'not_found'), await expectProblem(unknown, 404, 'not_found')];
  expect(f.detail).toBe(u.detail);
  expectNothingOfShopA(text);
}

beforeAll(async () => {
  shopifyApp = await startShopifyTestApp();
  server = shopifyApp.server;
  runner = await connectRunner(server.url, await server.createRunnerToken());
  acme = await server.createTenant({ name: 'Acme', plan: 'enterprise', origins: [ACME_ORIGIN] });
  globex = await server.createTenant({ name: 'Globex', plan: 'enterprise', origins: [GLOBEX_ORIGIN] });
  // A `.test` host never resolves: A's endpoint is registered, and its deliveries are logged (failing).
  const webhook = await server.api(acme.secretKey, '/v1/webhook-endpoints', {
    body: { url: 'https://hooks.acme.test/atelier', events: ['generation.completed'] },
  });
  a.webhookEndpoint = ((await webhook.json()) as { id: string }).id;

  a.done = await createGeneration(server, acme.secretKey, { prompt: ACME_PROMPT });
  runner.send({ type: 'ready' });
  const job = await runner.receive('job', (message) => message.jobId === a.done);
  completeJob(runner, job, [await pngBytes(200)]);
  await vi.waitFor(async () => expect((await readJob(server, a.done)).status).toBe('succeeded'));
  const [image] = (await viewGeneration(server, acme.secretKey, a.done)).images;
  a.image = { id: image!.id, url: image!.url };
  // Shop A's picture is the runner's last job too: everything queued after it stays queued.
  await installShops();
  await vi.waitFor(async () => {
    const log = await server.api(acme.secretKey, `/v1/webhook-endpoints/${a.webhookEndpoint}/deliveries`);
    a.webhookDelivery = ((await log.json()) as { data: { id: string }[] }).data[0]?.id ?? '';
    expect(a.webhookDelivery).not.toBe('');
  });
  // The runner does not say ready again: A's later jobs stay queued.
  const queued = await server.api(acme.secretKey, '/v1/generations', {
    body: { prompt: ACME_PROMPT },
    headers: { 'Idempotency-Key': a.idempotencyKey },
  });
  a.queued = ((await queued.json()) as { id: string }).id;
  a.keyId = (
    (await (await server.api(acme.secretKey, '/v1/keys', { body: { kind: 'secret', label: 'acme ci' } })).json()) as {
      id: string;
    }
  ).id;
  await server.api(acme.secretKey, '/v1/config', {
    method: 'PUT',
    body: { branding: { fontFamily: 'AcmeOnlyFont' }, retentionDays: 7 },
  });
  await server.admin(`/admin/v1/tenants/${acme.tenantId}/credits`, { amount: 777, reason: 'acme only' });
  await settle(a.done);
  a.shopperToken = await mintShopper(acme);
  globexShopperToken = await mintShopper(globex);

  const { widget, welcome } = await connectWidget(server.url, acme.publishableKey, ACME_ORIGIN);
  sockets.push(widget);
  a.resumeToken = welcome.session;
  widget.send({ type: 'generate', ref: a.widgetRef, params: { prompt: ACME_PROMPT } });
  a.widgetJob = (await widget.receive('accepted')).id;
  await widget.receive('queued');
  a.auditEvent = (await runWithTenant(acme.tenantId, () =>
    server.database.models.AuditEvent.findOne().sort({ at: -1, _id: -1 }).lean(),
  ))!._id;
  baseline = await acmeState();
});

afterEach(async () => {
  expect(await acmeState()).toEqual(baseline);
  expect(await shopAState()).toEqual(shopBaseline);
});

afterAll(async () => {
  await Promise.all(sockets.map((socket) => socket.close()));
  await runner.close();
  await shopifyApp.stop();
});

/** The settlement a finished job writes (written here as the ledger stores it), so that A has usage and B none. */
async function settle(jobId: string): Promise<void> {
  await runWithTenant(acme.tenantId, async () => {
    const head = await server.services.ledger.balance();
    const seq = (await server.database.models.CreditEntry.countDocuments()) + 1;
    await server.database.models.CreditEntry.create({
      _id: `cre_${jobId.slice(4)}`,
      seq,
      kind: 'settle',
      key: `settle:${jobId}`,
      amount: -1,
      reservedChange: 0,
      balance: head.balance - 1,
      reserved: head.reserved,
      jobId,
      usage: { preset: 'speed', images: 1 },
      actor: { kind: 'system' },
      at: new Date(),
    });
  });
}

async function mintShopper(tenant: Tenant): Promise<string> {
  const response = await server.api(tenant.secretKey, '/v1/sessions', { body: { shopperId: `${tenant.tenantId}-shopper` } });
  return ((await response.json()) as { token: string }).token;
}

/** A's data as stored, less what A's own use changes (lastUsedAt). */
function acmeState() {
  const { models } = server.database;
  return runWithTenant(acme.tenantId, async () => ({
    generations: (await models.Generation.find().sort({ _id: 1 }).lean()).map((g) => ({
      id: g._id,
      status: g.status,
      images: g.images.map((image) => image._id),
      params: g.params,
    })),
    keys: (await models.ApiKey.find().sort({ _id: 1 }).lean()).map((k) => [k._id, k.revokedAt, k.rotatedTo, k.expiresAt]),
    config: await server.services.configs.get(),
    credits: await models.CreditEntry.countDocuments(),
    audit: await models.AuditEvent.countDocuments(),
  }));
}

/** A's webhook endpoint is there, unchanged, with its delivery. */
async function expectAcmeWebhookIntact(): Promise<void> {
  const response = await server.api(acme.secretKey, `/v1/webhook-endpoints/${a.webhookEndpoint}`);
  expect(await response.json()).toMatchObject({ url: 'https://hooks.acme.test/atelier', enabled: true });
  const log = await server.api(acme.secretKey, `/v1/webhook-endpoints/${a.webhookEndpoint}/deliveries`);
  expect(((await log.json()) as { data: { id: string }[] }).data.map((delivery) => delivery.id)).toEqual([a.webhookDelivery]);
}

/** Nothing in `text` names anything of A's. */
function expectNothingOfAcme(text: string): void {
  for (const secret of [
    acme.tenantId,
    a.done,
    a.queued,
    a.widgetJob,
    a.image.id,
    a.keyId,
    a.webhookEndpoint,
    a.webhookDelivery,
    a.auditEvent,
    'hooks.acme.test',
    ACME_PROMPT,
    'AcmeOnlyFont',
  ]) {
    expect(text).not.toContain(secret);
  }
}

async function expectNotFound(response: Response): Promise<void> {
  const text = await response.clone().text();
  await expectProblem(response, 404, 'not_found');
  expectNothingOfAcme(text);
}

/** B's secret key on a route. */
function asGlobex(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return server.api(globex.secretKey, path, { method, ...(body === undefined ? {} : { body }), headers });
}

/**
 * B's publishable key and B's shopper session are widget credentials: on any REST route
 * they are refused (401) before anything is looked up, and say nothing of A's. Not
 * `not_found`: no resource is consulted, A's or anyone's, so 401 reveals nothing, and it
 * is what any caller without a secret key gets on that route.
 */
async function widgetCredentialsRefused(method: string, path: string): Promise<void> {
  for (const credential of [globex.publishableKey, globexShopperToken]) {
    const response = await server.api(credential, path, { method, ...(method === 'GET' ? {} : { body: {} }) });
    const text = await response.clone().text();
    await expectProblem(response, 401, 'unauthorized');
    expectNothingOfAcme(text);
  }
}

/** B's two kinds of widget socket: the publishable key alone, and with B's shopper session. */
async function globexSockets(): Promise<WidgetProbe[]> {
  const opened: WidgetProbe[] = [];
  for (const shopper of [undefined, globexShopperToken]) {
    const socket = await openWidgetSocket(server.url, globex.publishableKey, GLOBEX_ORIGIN);
    sockets.push(socket);
    socket.send({ type: 'hello', v: REALTIME_PROTOCOL_VERSION, ...(shopper ? { shopper } : {}) });
    await socket.receive('welcome');
    opened.push(socket);
  }
  return opened;
}

/** Sends `message` and expects the socket's next error to be `not_found`, with nothing of A's on the socket. */
async function socketNotFound(socket: WidgetProbe, message: unknown): Promise<void> {
  socket.send(message);
  const error = await socket.receive('error');
  expect(error.code).toBe('not_found');
  expectNothingOfAcme(JSON.stringify(socket.log));
}

/** Edits a signed file URL as someone holding it could. */
function editFileUrl(url: string, change: { tenantId?: string }): string {
  const parsed = new URL(url);
  const [, v1, files, tenantId, file] = parsed.pathname.split('/');
  parsed.pathname = ['', v1, files, change.tenantId ?? tenantId, file].join('/');
  return parsed.toString();
}

/** A list route's cursor naming A's object is refused exactly as one naming nothing is. */
async function foreignCursorLikeUnknown(path: string, foreignId: string, unknownId: string): Promise<void> {
  const foreign = await asGlobex('GET', `${path}?cursor=${foreignId}`);
  const unknown = await asGlobex('GET', `${path}?cursor=${unknownId}`);
  const [f, u] = [await expectProblem(foreign, 400, 'invalid_request'), await expectProblem(unknown, 400, 'invalid_request')];
  expect(f.detail).toBe(u.detail);
}

/**
 * A's image named by B: B's secret key is answered as for an unknown image, B's widget
 * credentials open no REST route, and B's sockets cannot name it either (as a job's
 * input). A's image is still there afterwards, its file served.
 */
async function acmeImageRefusedToGlobex(method: 'GET' | 'DELETE'): Promise<void> {
  await widgetCredentialsRefused(method, `/v1/images/${a.image.id}`);
  const foreign = await asGlobex(method, `/v1/images/${a.image.id}`);
  const unknown = await asGlobex(method, `/v1/images/${UNKNOWN_IMAGE}`);
  const text = await foreign.clone().text();
  const [f, u] = [await expectProblem(foreign, 404, 'not_found'), await expectProblem(unknown, 404, 'not_found')];
  expect(f.detail).toBe(u.detail);
  expectNothingOfAcme(text);
  for (const socket of await globexSockets()) {
    socket.send({ type: 'generate', ref: 'foreign-image', params: { prompt: 'a chair', inputImageId: a.image.id } });
    expect(await socket.receive('error')).toMatchObject({ ref: 'foreign-image', code: 'not_found' });
    expectNothingOfAcme(JSON.stringify(socket.log));
  }
  const own = await server.api(acme.secretKey, `/v1/images/${a.image.id}`);
  expect(own.status).toBe(200);
  expect((await fetch(((await own.json()) as { url: string }).url)).status).toBe(200);
}

let acmeLoraId: string | undefined;

/** A LoRA of A's (uploaded once). */
async function acmeLora(): Promise<string> {
  if (acmeLoraId) return acmeLoraId;
  const response = await fetch(new URL('/v1/loras', server.url), {
    method: 'POST',
    headers: { Authorization: `Bearer ${acme.secretKey}`, 'Content-Type': 'application/octet-stream' },
    body: tinyKohyaLora(41),
  });
  expect(response.status).toBe(201);
  acmeLoraId = ((await response.json()) as { id: string }).id;
  return acmeLoraId;
}

type Entry = { names: string; check(): Promise<void> } | { exempt: string; check(): Promise<void> };

const adminOnly = (method: string, path: () => string): Entry => ({
  exempt: 'operator API (admin token): cross-tenant by design; no tenant credential opens it',
  async check() {
    for (const credential of [globex.secretKey, globex.publishableKey, globexShopperToken]) {
      const response = await server.api(credential, path(), { method, ...(method === 'GET' ? {} : { body: {} }) });
      const text = await response.clone().text();
      await expectProblem(response, 401, 'unauthorized');
      expectNothingOfAcme(text);
    }
  },
});

/**
 * B's tenant credentials open no Shopify admin route (a session token is the only way
 * in), and B's shop's session token sees and changes only B's shop.
 */
async function tenantCredentialsRefusedOnShopAdmin(method: string, path: string): Promise<void> {
  for (const credential of [globex.secretKey, globex.publishableKey, globexShopperToken, acme.secretKey]) {
    const response = await fetch(new URL(path, server.url), {
      method,
      headers: { Authorization: `Bearer ${credential}`, 'Content-Type': 'application/json' },
      ...(method === 'GET' ? {} : { body: '{}' }),
    });
    const text = await response.clone().text();
    await expectProblem(response, 401, 'unauthorized');
    expectNothingOfShopA(text);
  }
}

const SHOPIFY_ROUTES = (): Record<string, Entry> => ({
  'GET /shopify/api/shop': {
    exempt: "the shop is the session token's, never a parameter: B's token answers B's shop",
    async check() {
      await tenantCredentialsRefusedOnShopAdmin('GET', '/shopify/api/shop');
      // A shop named as a parameter is not believed: the token's shop is answered.
      const own = await asShop(SHOP_B, 'GET', `/shopify/api/shop?shop=${SHOP_A}`);
      expect(own.status).toBe(200);
      const text = await own.text();
      expect(text).toContain(SHOP_B);
      expectNothingOfShopA(text);
    },
  },
  'GET /shopify/api/billing': {
    exempt: "the token's shop's plan: B sees the free plan, nothing of A's subscription",
    async check() {
      await tenantCredentialsRefusedOnShopAdmin('GET', '/shopify/api/billing');
      const response = await asShop(SHOP_B, 'GET', '/shopify/api/billing');
      const text = await response.text();
      expect(JSON.parse(text)).toMatchObject({ plan: 'free', status: 'NONE' });
      expectNothingOfShopA(text);
    },
  },
  'POST /shopify/api/billing/subscribe': {
    exempt: "subscribes the token's shop; A's subscription is untouched",
    async check() {
      await tenantCredentialsRefusedOnShopAdmin('POST', '/shopify/api/billing/subscribe');
      const response = await asShop(SHOP_B, 'POST', '/shopify/api/billing/subscribe', '{"plan":"pro"}');
      const text = await response.text();
      expect(response.status).toBe(200);
      expectNothingOfShopA(text);
      const [created] = shopifyApp.shopify.billing.subscriptions.filter((s) => s.shop === SHOP_B);
      expect(created?.returnUrl).toContain(`shop=${SHOP_B}`);
    },
  },
  'POST /shopify/api/billing/cancel': {
    exempt: "cancels the token's shop's plan: B has none to cancel, and A's stays active",
    async check() {
      await tenantCredentialsRefusedOnShopAdmin('POST', '/shopify/api/billing/cancel');
      const response = await asShop(SHOP_B, 'POST', '/shopify/api/billing/cancel', '{}');
      const text = await response.clone().text();
      await expectProblem(response, 409, 'conflict');
      expectNothingOfShopA(text);
    },
  },
  'GET /shopify/billing/return': {
    exempt: "names a shop, but believes nothing of the request: it reads the shop's subscriptions back from Shopify",
    async check() {
      const response = await fetch(new URL(`/shopify/billing/return?shop=${SHOP_A}&charge_id=1`, server.url), {
        redirect: 'manual',
        headers: { Authorization: `Bearer ${globex.secretKey}` },
      });
      expect(response.status).toBe(302);
      expect(response.headers.get('location')).toBe(`https://${SHOP_A}/admin/apps/${shopifyApp.shopify.signer.apiKey}`);
      expect(await response.text()).not.toContain(shopA.tenantId);
    },
  },
  'GET /shopify/api/data-requests': {
    exempt: "lists the token's shop's data requests: none of A's is in B's",
    async check() {
      await tenantCredentialsRefusedOnShopAdmin('GET', '/shopify/api/data-requests');
      const response = await asShop(SHOP_B, 'GET', '/shopify/api/data-requests');
      const text = await response.text();
      expect(JSON.parse(text)).toEqual({ data: [] });
      expectNothingOfShopA(text);
    },
  },
  'GET /shopify/api/data-requests/:id': {
    names: 'a data request (export) id',
    async check() {
      await tenantCredentialsRefusedOnShopAdmin('GET', `/shopify/api/data-requests/${shopA.exportId}`);
      const foreign = await asShop(SHOP_B, 'GET', `/shopify/api/data-requests/${shopA.exportId}`);
      const unknown = await asShop(SHOP_B, 'GET', '/shopify/api/data-requests/dxp_unknown');
      const text = await foreign.clone().text();
      const [f, u] = [await expectProblem(foreign, 404, 'not_found'), await expectProblem(unknown, 404, 'not_found')];
      expect(f.detail).toBe(u.detail);
      expectNothingOfShopA(text);
      expect((await asShop(SHOP_A, 'GET', `/shopify/api/data-requests/${shopA.exportId}`)).status).toBe(200);
      // That download is A's own: the baseline moves with it.
      shopBaseline = await shopAState();
    },
  },
  'GET /shopify': {
    exempt:
      "the embedded admin page: static HTML, the same for every shop (the query's shop only widens frame-ancestors); no tenant data",
    async check() {
      const response = await fetch(new URL(`/shopify?shop=${SHOP_B}&embedded=1`, server.url), {
        headers: { Authorization: `Bearer ${shopToken(SHOP_B)}` },
      });
      expect(response.status).toBe(200);
      expectNothingOfShopA(await response.text());
      expectNothingOfShopA(response.headers.get('content-security-policy')!);
    },
  },
  'GET /shopify/admin/:file': {
    exempt: "the admin page's script and stylesheet: the same bytes for everyone, no tenant data",
    async check() {
      for (const file of ['admin-app.js', 'admin.css']) {
        const response = await fetch(new URL(`/shopify/admin/${file}`, server.url), {
          headers: { Authorization: `Bearer ${shopToken(SHOP_B)}` },
        });
        expect(response.status).toBe(200);
        expectNothingOfShopA(await response.text());
      }
      await expectProblem(await fetch(new URL('/shopify/admin/secrets.json', server.url)), 404, 'not_found');
    },
  },
  'GET /shopify/api/settings': {
    names: "the token's shop's tenant configuration (never a parameter): B reads B's",
    async check() {
      await tenantCredentialsRefusedOnShopAdmin('GET', '/shopify/api/settings');
      const response = await asShop(SHOP_B, 'GET', `/shopify/api/settings?shop=${SHOP_A}`);
      expect(response.status).toBe(200);
      expectNothingOfShopA(await response.text());
    },
  },
  'PUT /shopify/api/settings': {
    names: "the token's shop's tenant configuration: B's change lands on B's tenant, A's stays",
    async check() {
      await tenantCredentialsRefusedOnShopAdmin('PUT', '/shopify/api/settings');
      const response = await asShop(SHOP_B, 'PUT', '/shopify/api/settings', '{"branding":{"fontFamily":"GlobexShopFont"}}');
      expect(response.status).toBe(200);
      expectNothingOfShopA(await response.text());
      const config = await runWithTenant(shopBTenantId, () => server.services.configs.get());
      expect(config.branding.fontFamily).toBe('GlobexShopFont');
    },
  },
  'PUT /shopify/api/quotas': {
    names: "the token's shop's quotas: B's change lands on B's shop, A's stay",
    async check() {
      await tenantCredentialsRefusedOnShopAdmin('PUT', '/shopify/api/quotas');
      const response = await asShop(SHOP_B, 'PUT', '/shopify/api/quotas', '{"guestPerDay":1,"customerPerDay":2}');
      expect(await response.json()).toEqual({ quotas: { guestPerDay: 1, customerPerDay: 2 } });
      expect((await server.shopify!.models.Shop.findById(SHOP_B).lean())?.quotas).toEqual({ guestPerDay: 1, customerPerDay: 2 });
    },
  },
  'GET /shopify/api/account': {
    names: "the token's shop's tenant's credits and usage: B sees its free plan, nothing of A's",
    async check() {
      await tenantCredentialsRefusedOnShopAdmin('GET', '/shopify/api/account');
      const response = await asShop(SHOP_B, 'GET', '/shopify/api/account');
      const text = await response.text();
      expect(JSON.parse(text)).toMatchObject({ plan: 'free' });
      expectNothingOfShopA(text);
    },
  },
  'GET /shopify/api/results': {
    names: "the token's shop's tenant's pictures: none of A's is in B's",
    async check() {
      await tenantCredentialsRefusedOnShopAdmin('GET', '/shopify/api/results');
      const response = await asShop(SHOP_B, 'GET', '/shopify/api/results');
      const text = await response.text();
      expect(JSON.parse(text)).toEqual({ data: [] });
      expectNothingOfShopA(text);
      const own = (await (await asShop(SHOP_A, 'GET', '/shopify/api/results')).json()) as { data: { imageId: string }[] };
      expect(own.data.map((result) => result.imageId)).toEqual([shopA.imageId]);
    },
  },
  'GET /shopify/api/products': {
    names: "the token's shop's products, read from Shopify with that shop's own token: none of A's is in B's",
    async check() {
      await tenantCredentialsRefusedOnShopAdmin('GET', '/shopify/api/products');
      const response = await asShop(SHOP_B, 'GET', '/shopify/api/products');
      const text = await response.text();
      expect(JSON.parse(text)).toEqual({ data: [] });
      expectNothingOfShopA(text);
    },
  },
  'POST /shopify/api/results/:imageId/:action': {
    names: "an image id: B can neither hide nor approve A's picture",
    async check() {
      for (const action of ['hide', 'approve']) {
        await tenantCredentialsRefusedOnShopAdmin('POST', `/shopify/api/results/${shopA.imageId}/${action}`);
        await shopBNotFoundLikeUnknown('POST', (id) => `/shopify/api/results/${id}/${action}`);
      }
    },
  },
  'POST /shopify/api/results/:imageId/media': {
    names: "an image id: B cannot put A's picture on a product",
    async check() {
      await tenantCredentialsRefusedOnShopAdmin('POST', `/shopify/api/results/${shopA.imageId}/media`);
      const body = JSON.stringify({ productId: shopA.productId });
      await shopBNotFoundLikeUnknown('POST', (id) => `/shopify/api/results/${id}/media`, body);
      expect(shopifyApp.shopify.requests.filter((r) => r.detail.startsWith('graphql: productCreateMedia'))).toEqual([]);
    },
  },
  'POST /shopify/proxy/picks': {
    names:
      "a shop (believed only when Shopify signed the query), an image id and the shopper's session: B's shop consents to nothing of A's",
    async check() {
      const resigned = shopifyApp.shopify.signer.proxyQuery({ shop: SHOP_B });
      resigned.set('shop', SHOP_A);
      const forged = await fetch(new URL(`/shopify/proxy/picks?${resigned.toString()}`, server.url), {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ imageId: shopA.imageId, sessionToken: shopA.shopperSession }),
      });
      const forgedText = await forged.clone().text();
      await expectProblem(forged, 401, 'unauthorized');
      expectNothingOfShopA(forgedText);
      const globexSession = (await (
        await fetch(
          new URL(`/shopify/proxy/session?${shopifyApp.shopify.signer.proxyQuery({ shop: SHOP_B }).toString()}`, server.url),
        )
      ).json()) as { token: string };
      for (const sessionToken of [shopA.shopperSession, globexSession.token]) {
        const foreign = await shopPick(SHOP_B, sessionToken, shopA.imageId);
        const unknown = await shopPick(SHOP_B, sessionToken, UNKNOWN_IMAGE);
        const text = await foreign.clone().text();
        const [f, u] = [await expectProblem(foreign, 404, 'not_found'), await expectProblem(unknown, 404, 'not_found')];
        expect(f.detail).toBe(u.detail);
        expectNothingOfShopA(text);
      }
      // A's own shopper, on A's shop: accepted (the consent is on file already, so nothing changes).
      expect((await shopPick(SHOP_A, shopA.shopperSession, shopA.imageId)).status).toBe(204);
    },
  },
  'GET /shopify/auth': {
    exempt: 'begins the authorization-code grant for the named shop: a redirect to that shop, holding nothing of it',
    async check() {
      const response = await fetch(new URL(`/shopify/auth?shop=${SHOP_A}`, server.url), {
        redirect: 'manual',
        // The library turns bots away (410); this is a merchant's browser.
        headers: {
          'User-Agent': 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36',
        },
      });
      expect(response.status).toBe(302);
      expect(response.headers.get('location')).toMatch(new RegExp(`^https://${SHOP_A}/admin/oauth/authorize\\?`));
      expect(await response.text()).not.toContain(shopA.tenantId);
    },
  },
  'GET /shopify/auth/callback': {
    names: 'a shop, believed only with a valid HMAC and the state this browser was given',
    async check() {
      const forged = await fetch(
        new URL(`/shopify/auth/callback?shop=${SHOP_A}&code=x&state=abcdef0123456789&timestamp=1&hmac=00`, server.url),
      );
      const text = await forged.clone().text();
      await expectProblem(forged, 401, 'unauthorized');
      expectNothingOfShopA(text);
    },
  },
  'GET /shopify/proxy/session': {
    names: 'a shop, believed only when Shopify signed the query: a signature for B does not name A',
    async check() {
      const signed = shopifyApp.shopify.signer.proxyQuery({ shop: SHOP_B });
      signed.set('shop', SHOP_A);
      const response = await fetch(new URL(`/shopify/proxy/session?${signed.toString()}`, server.url));
      const text = await response.clone().text();
      await expectProblem(response, 401, 'unauthorized');
      expectNothingOfShopA(text);
    },
  },
  'POST /shopify/webhooks': {
    names: 'a shop, believed only with a valid HMAC and when the body names the same shop as the header',
    async check() {
      const about = await shopWebhook(SHOP_B, 'app/uninstalled', { id: 1, myshopify_domain: SHOP_A });
      await expectProblem(about, 400, 'invalid_request');
      const subscription = await shopWebhook(
        SHOP_B,
        'app_subscriptions/update',
        {
          app_subscription: {
            admin_graphql_api_id: shopA.subscriptionId,
            status: 'CANCELLED',
            updated_at: new Date().toISOString(),
          },
        },
        'matrix-foreign-subscription',
      );
      expect(subscription.status).toBe(200);
      await vi.waitFor(async () =>
        expect(await server.shopify!.models.WebhookEvent.findById('matrix-foreign-subscription').lean()).toMatchObject({
          status: 'done',
          outcome: 'not a subscription of this shop',
        }),
      );
      const signed = shopifyApp.shopify.signer.webhook({
        topic: 'app/uninstalled',
        shop: SHOP_A,
        payload: { id: 1, myshopify_domain: SHOP_A },
        secret: 'not-the-app-secret',
      });
      const forged = await fetch(new URL('/shopify/webhooks', server.url), {
        method: 'POST',
        headers: signed.headers,
        body: signed.body,
      });
      await expectProblem(forged, 401, 'unauthorized');
    },
  },
});

const ROUTES: Record<string, Entry> = {
  'POST /v1/generations': {
    exempt: "creates B's own job; what it may name of another tenant's (an input image, an Idempotency-Key) is checked",
    async check() {
      await widgetCredentialsRefused('POST', '/v1/generations');
      for (const field of ['inputImageId', 'maskImageId']) {
        await expectNotFound(await asGlobex('POST', '/v1/generations', { prompt: 'a chair', [field]: a.image.id }));
      }
      const replay = await asGlobex('POST', '/v1/generations', { prompt: 'a chair' }, { 'Idempotency-Key': a.idempotencyKey });
      expect(replay.status).toBe(202);
      expect(replay.headers.get('Idempotent-Replayed')).toBe('false');
      const created = (await replay.json()) as { id: string };
      expect(created.id).not.toBe(a.queued);
      expect((await readJob(server, created.id)).tenantId).toBe(globex.tenantId);
    },
  },
  'GET /v1/generations': {
    exempt: "lists B's own jobs: none of A's is in it, and A's id as a cursor is refused as an unknown one is",
    async check() {
      await widgetCredentialsRefused('GET', '/v1/generations');
      const response = await asGlobex('GET', '/v1/generations?limit=100');
      expect(response.status).toBe(200);
      expectNothingOfAcme(await response.text());
      await foreignCursorLikeUnknown('/v1/generations', a.done, UNKNOWN_GENERATION);
    },
  },
  'GET /v1/generations/:id': {
    names: 'a generation id',
    async check() {
      for (const id of [a.done, a.queued, a.widgetJob]) {
        await widgetCredentialsRefused('GET', `/v1/generations/${id}`);
        await expectNotFound(await asGlobex('GET', `/v1/generations/${id}`));
      }
    },
  },
  'POST /v1/generations/:id/cancel': {
    names: 'a generation id',
    async check() {
      for (const id of [a.queued, a.widgetJob, a.done]) {
        await widgetCredentialsRefused('POST', `/v1/generations/${id}/cancel`);
        await expectNotFound(await asGlobex('POST', `/v1/generations/${id}/cancel`));
      }
    },
  },
  'GET /v1/images/:id': {
    names: 'an image id',
    async check() {
      await acmeImageRefusedToGlobex('GET');
    },
  },
  'DELETE /v1/images/:id': {
    names: "an image id: B deleting A's is not_found, and A's image and its file stay",
    async check() {
      await acmeImageRefusedToGlobex('DELETE');
    },
  },
  'GET /v1/keys': {
    exempt: "lists B's own keys: none of A's is in it, and A's key id as a cursor is refused as an unknown one is",
    async check() {
      await widgetCredentialsRefused('GET', '/v1/keys');
      const response = await asGlobex('GET', '/v1/keys?limit=100');
      expect(response.status).toBe(200);
      expectNothingOfAcme(await response.text());
      await foreignCursorLikeUnknown('/v1/keys', a.keyId, 'key_00000000000000000000');
    },
  },
  'POST /v1/keys': {
    exempt: "creates a key of B's: it opens B's data, never A's",
    async check() {
      await widgetCredentialsRefused('POST', '/v1/keys');
      const created = (await (await asGlobex('POST', '/v1/keys', { kind: 'secret' })).json()) as { key: string };
      const config = await server.api(created.key, '/v1/config');
      expect(config.status).toBe(200);
      expectNothingOfAcme(await config.text());
      await expectNotFound(await server.api(created.key, `/v1/generations/${a.done}`));
    },
  },
  'POST /v1/keys/:id/rotate': {
    names: 'a key id',
    async check() {
      await widgetCredentialsRefused('POST', `/v1/keys/${a.keyId}/rotate`);
      await expectNotFound(await asGlobex('POST', `/v1/keys/${a.keyId}/rotate`, { graceSeconds: 0 }));
    },
  },
  'DELETE /v1/keys/:id': {
    names: 'a key id',
    async check() {
      await widgetCredentialsRefused('DELETE', `/v1/keys/${a.keyId}`);
      await expectNotFound(await asGlobex('DELETE', `/v1/keys/${a.keyId}`));
    },
  },
  'POST /v1/sessions': {
    exempt: "mints a session of B's: A's socket refuses it",
    async check() {
      await widgetCredentialsRefused('POST', '/v1/sessions');
      const socket = await openWidgetSocket(server.url, acme.publishableKey, ACME_ORIGIN);
      sockets.push(socket);
      socket.send({ type: 'hello', v: REALTIME_PROTOCOL_VERSION, shopper: await mintShopper(globex) });
      expect((await socket.closed()).code).toBe(REALTIME_CLOSE.unauthorized);
      expect(socket.log).toEqual([expect.objectContaining({ type: 'error', code: 'unauthorized' })]);
    },
  },
  'GET /v1/config': {
    names: "the tenant's configuration (the key's tenant, never a path)",
    async check() {
      await widgetCredentialsRefused('GET', '/v1/config');
      const response = await asGlobex('GET', '/v1/config');
      const config = (await response.clone().json()) as { retentionDays: number };
      expectNothingOfAcme(await response.text());
      expect(config.retentionDays).not.toBe(7);
    },
  },
  'PUT /v1/config': {
    names: "the tenant's configuration (the key's tenant, never a path)",
    async check() {
      await widgetCredentialsRefused('PUT', '/v1/config');
      const response = await asGlobex('PUT', '/v1/config', { retentionDays: 90 });
      expect(response.status).toBe(200);
      expectNothingOfAcme(await response.text());
      expect(await runWithTenant(globex.tenantId, () => server.services.configs.get())).toMatchObject({ retentionDays: 90 });
    },
  },
  'GET /v1/balance': {
    names: "the tenant's credits (the key's tenant)",
    async check() {
      await widgetCredentialsRefused('GET', '/v1/balance');
      const body = await (await asGlobex('GET', '/v1/balance')).json();
      expect(body).toEqual(await runWithTenant(globex.tenantId, () => server.services.ledger.balance()));
      expect(body).not.toEqual(await runWithTenant(acme.tenantId, () => server.services.ledger.balance()));
    },
  },
  'GET /v1/audit-events': {
    exempt: "lists B's own audit log: none of A's entries is in it, and A's entry id as a cursor is refused as an unknown one is",
    async check() {
      await widgetCredentialsRefused('GET', '/v1/audit-events');
      for (const query of ['?limit=100', '?limit=100&action=key.created', '?limit=100&action=credits.granted']) {
        const response = await asGlobex('GET', `/v1/audit-events${query}`);
        expect(response.status).toBe(200);
        const text = await response.text();
        expect(JSON.parse(text)).toMatchObject({ data: expect.arrayContaining([expect.anything()]) });
        expectNothingOfAcme(text);
      }
      await foreignCursorLikeUnknown('/v1/audit-events', a.auditEvent, 'aud_00000000000000000000');
    },
  },
  'GET /v1/usage': {
    names: "the tenant's usage (the key's tenant)",
    async check() {
      await widgetCredentialsRefused('GET', '/v1/usage');
      const body = (await (await asGlobex('GET', '/v1/usage')).json()) as { from: string; to: string };
      expect(body).toEqual(await runWithTenant(globex.tenantId, () => server.services.ledger.usage(body.from, body.to)));
      expect(body).not.toEqual(await runWithTenant(acme.tenantId, () => server.services.ledger.usage(body.from, body.to)));
    },
  },
  'GET /v1/webhook-endpoints': {
    exempt: "lists B's own webhook endpoints: none of A's is in it, and A's id as a cursor is refused as an unknown one is",
    async check() {
      await widgetCredentialsRefused('GET', '/v1/webhook-endpoints');
      const response = await asGlobex('GET', '/v1/webhook-endpoints?limit=100');
      expect(response.status).toBe(200);
      expectNothingOfAcme(await response.text());
      await foreignCursorLikeUnknown('/v1/webhook-endpoints', a.webhookEndpoint, 'wep_00000000000000000000');
    },
  },
  'POST /v1/webhook-endpoints': {
    exempt: "registers an endpoint of B's: B's events only ever go to it",
    async check() {
      await widgetCredentialsRefused('POST', '/v1/webhook-endpoints');
      const created = await asGlobex('POST', '/v1/webhook-endpoints', {
        url: 'https://hooks.globex.test/in',
        events: ['generation.completed'],
      });
      expect(created.status).toBe(201);
      const { id } = (await created.json()) as { id: string };
      const log = await asGlobex('GET', `/v1/webhook-endpoints/${id}/deliveries`);
      expect(((await log.json()) as { data: unknown[] }).data).toEqual([]);
    },
  },
  'GET /v1/webhook-endpoints/:id': {
    names: 'a webhook endpoint id',
    async check() {
      await widgetCredentialsRefused('GET', `/v1/webhook-endpoints/${a.webhookEndpoint}`);
      await expectNotFound(await asGlobex('GET', `/v1/webhook-endpoints/${a.webhookEndpoint}`));
    },
  },
  'PATCH /v1/webhook-endpoints/:id': {
    names: "a webhook endpoint id: B cannot re-point A's endpoint",
    async check() {
      await widgetCredentialsRefused('PATCH', `/v1/webhook-endpoints/${a.webhookEndpoint}`);
      await expectNotFound(
        await asGlobex('PATCH', `/v1/webhook-endpoints/${a.webhookEndpoint}`, { url: 'https://hooks.globex.test/stolen' }),
      );
      await expectAcmeWebhookIntact();
    },
  },
  'DELETE /v1/webhook-endpoints/:id': {
    names: 'a webhook endpoint id',
    async check() {
      await widgetCredentialsRefused('DELETE', `/v1/webhook-endpoints/${a.webhookEndpoint}`);
      await expectNotFound(await asGlobex('DELETE', `/v1/webhook-endpoints/${a.webhookEndpoint}`));
      await expectAcmeWebhookIntact();
    },
  },
  'POST /v1/webhook-endpoints/:id/rotate-secret': {
    names: 'a webhook endpoint id: B cannot learn or replace its secret',
    async check() {
      await widgetCredentialsRefused('POST', `/v1/webhook-endpoints/${a.webhookEndpoint}/rotate-secret`);
      await expectNotFound(
        await asGlobex('POST', `/v1/webhook-endpoints/${a.webhookEndpoint}/rotate-secret`, { graceSeconds: 0 }),
      );
    },
  },
  'GET /v1/webhook-endpoints/:id/deliveries': {
    names: "a webhook endpoint id: its delivery log (A's events)",
    async check() {
      await widgetCredentialsRefused('GET', `/v1/webhook-endpoints/${a.webhookEndpoint}/deliveries`);
      await expectNotFound(await asGlobex('GET', `/v1/webhook-endpoints/${a.webhookEndpoint}/deliveries`));
    },
  },
  'POST /v1/webhook-endpoints/:id/deliveries/:deliveryId/redeliver': {
    names: "a webhook endpoint id and a delivery id: B can neither resend A's delivery nor name it under an endpoint of B's",
    async check() {
      const path = `/v1/webhook-endpoints/${a.webhookEndpoint}/deliveries/${a.webhookDelivery}/redeliver`;
      await widgetCredentialsRefused('POST', path);
      await expectNotFound(await asGlobex('POST', path));
      const own = await asGlobex('POST', '/v1/webhook-endpoints', {
        url: 'https://hooks.globex.test/own',
        events: ['generation.failed'],
      });
      const { id } = (await own.json()) as { id: string };
      await expectNotFound(await asGlobex('POST', `/v1/webhook-endpoints/${id}/deliveries/${a.webhookDelivery}/redeliver`));
    },
  },
  'POST /admin/v1/tenants': adminOnly('POST', () => '/admin/v1/tenants'),
  'GET /admin/v1/tenants': adminOnly('GET', () => '/admin/v1/tenants'),
  'PATCH /admin/v1/tenants/:id': adminOnly('PATCH', () => `/admin/v1/tenants/${acme.tenantId}`),
  'DELETE /admin/v1/tenants/:id': adminOnly('DELETE', () => `/admin/v1/tenants/${acme.tenantId}`),
  'POST /admin/v1/tenants/:id/credits': adminOnly('POST', () => `/admin/v1/tenants/${acme.tenantId}/credits`),
  'GET /admin/v1/tenants/:id/credits': adminOnly('GET', () => `/admin/v1/tenants/${acme.tenantId}/credits`),
  'GET /admin/v1/tenants/:id/audit-events': adminOnly('GET', () => `/admin/v1/tenants/${acme.tenantId}/audit-events`),
  'GET /admin/v1/audit-events': adminOnly('GET', () => '/admin/v1/audit-events'),
  'POST /admin/v1/runner-tokens': adminOnly('POST', () => '/admin/v1/runner-tokens'),
  'GET /admin/v1/runners': adminOnly('GET', () => '/admin/v1/runners'),
  'GET /admin/v1/plans': adminOnly('GET', () => '/admin/v1/plans'),
  'PUT /admin/v1/plans/:name': adminOnly('PUT', () => '/admin/v1/plans/enterprise'),
  'POST /admin/v1/session-keys/rotate': adminOnly('POST', () => '/admin/v1/session-keys/rotate'),
  'GET /v1/files/:tenantId/:file': {
    names: 'a signed image URL (tenant and image in the path, bound by the signature)',
    async check() {
      const swapped = editFileUrl(a.image.url, { tenantId: globex.tenantId });
      await expectNotFound(await fetch(swapped));
      // Validly signed for B's prefix: storage is tenant-bound as well as the signature.
      await expectNotFound(await fetch(server.services.signer.imageUrl(globex.tenantId, a.image.id, 'png')));
      const expired = server.services.signer.imageUrl(acme.tenantId, a.image.id, 'png', Date.now() - 60 * 60 * 1000);
      await expectNotFound(await fetch(editFileUrl(expired, { tenantId: globex.tenantId })));
      const refused = await fetch(expired);
      const text = await refused.clone().text();
      await expectProblem(refused, 403, 'forbidden');
      expectNothingOfAcme(text);
      expect((await fetch(a.image.url)).status).toBe(200);
    },
  },
  'POST /v1/uploads': {
    exempt: "stores an image of B's own; naming A's upload later is checked on POST /v1/generations",
    async check() {
      await widgetCredentialsRefused('POST', '/v1/uploads');
    },
  },
  'GET /v1/loras': {
    exempt: "lists B's own LoRAs: none of A's is in it",
    async check() {
      const own = await acmeLora();
      await widgetCredentialsRefused('GET', '/v1/loras');
      const response = await asGlobex('GET', '/v1/loras');
      expect(response.status).toBe(200);
      expect(await response.text()).not.toContain(own);
    },
  },
  'POST /v1/loras': {
    exempt: "stores a LoRA of B's own; naming A's is checked on DELETE /v1/loras/:id and in loras-api.test.ts",
    async check() {
      await widgetCredentialsRefused('POST', '/v1/loras');
    },
  },
  'DELETE /v1/loras/:id': {
    names: "a LoRA id: B deleting A's is not_found, and A's LoRA stays",
    async check() {
      const own = await acmeLora();
      await widgetCredentialsRefused('DELETE', `/v1/loras/${own}`);
      const response = await asGlobex('DELETE', `/v1/loras/${own}`);
      await expectProblem(response, 404, 'not_found');
      expect(await (await server.api(acme.secretKey, '/v1/loras')).text()).toContain(own);
    },
  },
  'GET /v1/assets/:tenantId/:assetId': {
    names: "a runner's job file (a signed URL: tenant and file in the path, bound by the signature)",
    async check() {
      const own = await acmeLora();
      const url = new URL(server.services.signer.assetUrl(acme.tenantId, own));
      url.pathname = url.pathname.replace(acme.tenantId, globex.tenantId);
      await expectNotFound(await fetch(url));
      await expectNotFound(await fetch(server.services.signer.assetUrl(globex.tenantId, own)));
      expect((await fetch(server.services.signer.assetUrl(acme.tenantId, own))).status).toBe(200);
    },
  },
  [`GET ${String(STUDIO_PATH)}`]: {
    exempt: 'the public, content-hashed widget studio: the same bytes for everyone, no tenant data',
    async check() {
      const response = await fetch(new URL('/atelier-studio.0123456789.js', server.url), {
        headers: { Authorization: `Bearer ${globex.secretKey}` },
      });
      expect([200, 404]).toContain(response.status);
      expectNothingOfAcme(await response.text());
    },
  },
  'GET /widget.js': {
    exempt: 'the public widget bundle: the same bytes for everyone, no tenant data',
    async check() {
      const response = await fetch(new URL('/widget.js', server.url), {
        headers: { Authorization: `Bearer ${globex.secretKey}` },
      });
      expect([200, 404]).toContain(response.status);
      expectNothingOfAcme(await response.text());
    },
  },
  'GET /embed.js': {
    exempt: "the public embed page's bridge: the same bytes for everyone, no tenant data",
    async check() {
      const response = await fetch(new URL('/embed.js', server.url), {
        headers: { Authorization: `Bearer ${globex.secretKey}` },
      });
      expect([200, 404]).toContain(response.status);
      expectNothingOfAcme(await response.text());
    },
  },
  'GET /embed/studio': {
    names: "a publishable key and the origin that frames the page: A's key opens only for A's origins",
    async check() {
      const embed = (key: string, parent: string) =>
        fetch(new URL(`/embed/studio?key=${key}&parent=${encodeURIComponent(parent)}`, server.url));
      const refused = await embed(acme.publishableKey, GLOBEX_ORIGIN);
      expect(refused.status).toBe(403);
      expectNothingOfAcme(await refused.text());
      expect((await embed(globex.publishableKey, ACME_ORIGIN)).status).toBe(403);
      expect((await embed(acme.publishableKey, ACME_ORIGIN)).status).toBe(200);
    },
  },
  'GET /v1/realtime/stream': {
    names: "a publishable key and the page's origin, as the socket does: A's key opens only for A's origins",
    async check() {
      const controller = new AbortController();
      const response = await fetch(new URL(`/v1/realtime/stream?key=${acme.publishableKey}`, server.url), {
        headers: { Origin: GLOBEX_ORIGIN },
        signal: controller.signal,
      });
      const text = await response.text();
      expect(text).toContain('"code":"unauthorized"');
      expect(text).toContain(`"code":${REALTIME_CLOSE.unauthorized}`);
      expectNothingOfAcme(text);
    },
  },
  'POST /v1/realtime/stream/:id': {
    names: 'an open stream (a random id only its own page was told), and the origin that opened it',
    async check() {
      // A's real stream, said hello on from A's page: B's page that learnt its id is not let in.
      const stream = await openEventStream(server.url, acme.publishableKey, ACME_ORIGIN);
      try {
        expect((await stream.post({ type: 'hello', v: REALTIME_PROTOCOL_VERSION })).status).toBe(202);
        await stream.next('message', (m: { type: string }) => m.type === 'welcome');
        for (const message of [
          { type: 'watch', id: a.done },
          { type: 'generate', ref: 'globex-ref', params: { prompt: 'x' } },
        ]) {
          await expectNotFound(await stream.post(message, { origin: GLOBEX_ORIGIN }));
        }
        const unknown = await fetch(new URL('/v1/realtime/stream/str_AAAAAAAAAAAAAAAAAAAA', server.url), {
          method: 'POST',
          headers: { Origin: GLOBEX_ORIGIN, 'Content-Type': 'text/plain' },
          body: JSON.stringify({ type: 'watch', id: a.done }),
        });
        await expectNotFound(unknown);
        // A's page got nothing from B's posts: its stream's next answer is to its own next message.
        expect((await stream.post({ type: 'cancel', id: 'gen_00000000000000000000' })).status).toBe(202);
        const after = (await stream.next('message')) as { type: string };
        expect(after).toMatchObject({ type: 'error', code: 'not_found' });
      } finally {
        stream.abort();
      }
    },
  },
  ...SHOPIFY_ROUTES(),
  'GET /healthz': {
    exempt: 'public liveness: counts only, no tenant data',
    async check() {
      const response = await fetch(new URL('/healthz', server.url));
      expect(Object.keys((await response.json()) as object).sort()).toEqual(['ok', 'runners']);
    },
  },
  'GET /readyz': {
    exempt: 'public readiness: whether the database answers and counts of runners, no tenant data',
    async check() {
      const response = await fetch(new URL('/readyz', server.url), { headers: { Authorization: `Bearer ${globex.secretKey}` } });
      const body = (await response.json()) as { runners: object };
      expect(Object.keys(body).sort()).toEqual(['database', 'ready', 'reasons', 'runners']);
      expect(Object.keys(body.runners).sort()).toEqual(['coolingDown', 'firstBackAt', 'healthy', 'online']);
    },
  },
};

const MESSAGES: Record<string, Entry> = {
  hello: {
    names: "a session to resume (resume.session) and a shopper session (shopper): A's are no good on B's socket",
    async check() {
      const resumed = await openWidgetSocket(server.url, globex.publishableKey, GLOBEX_ORIGIN);
      sockets.push(resumed);
      resumed.send({ type: 'hello', v: REALTIME_PROTOCOL_VERSION, resume: { session: a.resumeToken, lastSeq: 0 } });
      expect((await resumed.receive('welcome')).resume).toBe(false);
      // Anything of A's session would have been sent before the answer to this.
      await socketNotFound(resumed, { type: 'watch', id: UNKNOWN_GENERATION });
      expect(resumed.log.map((m: ServerMessage) => m.type)).toEqual(['welcome', 'error']);

      const foreignShopper = await openWidgetSocket(server.url, globex.publishableKey, GLOBEX_ORIGIN);
      sockets.push(foreignShopper);
      foreignShopper.send({ type: 'hello', v: REALTIME_PROTOCOL_VERSION, shopper: a.shopperToken });
      expect((await foreignShopper.closed()).code).toBe(REALTIME_CLOSE.unauthorized);
      expect(foreignShopper.log).toEqual([expect.objectContaining({ type: 'error', code: 'unauthorized' })]);
    },
  },
  generate: {
    exempt: "creates B's own job; an input image of A's is not_found, and A's ref makes a job of B's",
    async check() {
      for (const socket of await globexSockets()) {
        socket.send({ type: 'generate', ref: 'foreign-image', params: { prompt: 'a chair', inputImageId: a.image.id } });
        expect(await socket.receive('error')).toMatchObject({ ref: 'foreign-image', code: 'not_found' });
        socket.send({ type: 'generate', ref: a.widgetRef, params: { prompt: 'a chair' } });
        const accepted = await socket.receive('accepted');
        expect(accepted.id).not.toBe(a.widgetJob);
        expectNothingOfAcme(JSON.stringify(socket.log));
      }
    },
  },
  watch: {
    names: 'a generation id (and, optionally, the session that made it)',
    async check() {
      for (const socket of await globexSockets()) {
        for (const id of [a.done, a.queued, a.widgetJob]) {
          await socketNotFound(socket, { type: 'watch', id });
          await socketNotFound(socket, { type: 'watch', id, session: a.resumeToken });
        }
      }
    },
  },
  cancel: {
    names: 'a generation id',
    async check() {
      for (const socket of await globexSockets()) {
        for (const id of [a.queued, a.widgetJob, a.done]) await socketNotFound(socket, { type: 'cancel', id });
      }
    },
  },
};

describe('the isolation matrix', () => {
  it('has an entry for every route the server answers and every message a widget may send', () => {
    // An entry may name a route this build does not serve (its check must then hold either way).
    expect(server.routes.filter((route) => !(route in ROUTES))).toEqual([]);
    const types = clientMessageSchema.options.map((option) => option.shape.type.value);
    expect(Object.keys(MESSAGES).sort()).toEqual([...types].sort());
  });

  for (const [route, entry] of Object.entries(ROUTES)) {
    it(`${route}: ${'names' in entry ? `names ${entry.names}` : `exempt, ${entry.exempt}`}`, () => entry.check());
  }

  for (const [type, entry] of Object.entries(MESSAGES)) {
    it(`socket ${type}: ${'names' in entry ? `names ${entry.names}` : `exempt, ${entry.exempt}`}`, () => entry.check());
  }

  it("finds A's objects as A all along: the attempts were refused for B, not broken for everyone", async () => {
    expect((await viewGeneration(server, acme.secretKey, a.done)).images.map((image) => image.id)).toEqual([a.image.id]);
    expect((await viewGeneration(server, acme.secretKey, a.queued)).status).toBe('queued');
    expect((await server.api(acme.secretKey, `/v1/keys/${a.keyId}/rotate`, { body: { graceSeconds: 0 } })).status).toBe(201);
    // That rotation is A's own change: the baseline moves with it.
    baseline = await acmeState();
  });
});
