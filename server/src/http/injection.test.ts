import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STUDIO_PATH } from '@atelier/protocol';
import {
  createGeneration,
  expectProblem,
  startShopifyTestApp,
  TEST_ADMIN_TOKEN,
  TEST_SHOPIFY_API_SECRET,
  type ShopifyTestApp,
  type TestServer,
} from '@atelier/testing';
import { newId } from '../services/ids.js';
import { runAsSystem, runWithTenant } from '../tenancy/tenant-context.js';

/**
 * Hostile input against every route the server answers (read from its route table, not
 * listed here): operator objects, bracketed query strings, prototype-pollution keys,
 * unknown fields and oversized bodies. Each is a 400 `invalid_request` naming the
 * problem (413 `payload_too_large` for size), never a 2xx, never a 500, and the
 * database holds exactly the documents it held before.
 */

type Tenant = { tenantId: string; secretKey: string; publishableKey: string };

let shopifyApp: ShopifyTestApp;
let server: TestServer;
let tenant: Tenant;
/** The Shopify app is switched on (against the fake Shopify), with this shop installed. */
const SHOP = 'injection.myshopify.com';
let generationId: string;
let keyId: string;
let webhookEndpointId: string;

/**
 * A body each route accepts (`null`: the route reads none). Every route that takes a
 * body needs one here, so the battery can put its payloads into the route's own fields.
 */
/**
 * Routes whose body is a file, not JSON (an image, a .safetensors). Here every hostile
 * JSON body is refused both as JSON and as the file's own type; their own tests cover the
 * files' validation and size limits (uploads-api.test.ts, loras-api.test.ts).
 */
const RAW_BODY_ROUTES = ['POST /v1/uploads', 'POST /v1/loras'];
/** Its body is one realtime message for an open stream, screened as a socket's (realtime-stream.test.ts). */
const STREAM_ROUTES = ['POST /v1/realtime/stream/:id'];
/**
 * Shopify's webhooks: read as raw bytes and believed only with Shopify's HMAC over them,
 * before any parsing (their own battery below).
 */
const SIGNED_ROUTES = ['POST /shopify/webhooks'];

const VALID_BODIES: Record<string, Record<string, unknown> | null> = {
  'POST /v1/generations': { prompt: 'a walnut desk lamp' },
  'POST /v1/generations/:id/cancel': null,
  'DELETE /v1/loras/:id': null,
  'DELETE /v1/images/:id': null,
  'POST /v1/keys': { kind: 'secret', label: 'ci' },
  'POST /v1/keys/:id/rotate': { graceSeconds: 0 },
  'DELETE /v1/keys/:id': null,
  'POST /v1/sessions': { shopperId: 'cust-1' },
  'PUT /v1/config': { retentionDays: 10 },
  'POST /admin/v1/tenants': { name: 'Initech', plan: 'pro' },
  'PATCH /admin/v1/tenants/:id': { name: 'Initech' },
  'DELETE /admin/v1/tenants/:id': null,
  'POST /admin/v1/tenants/:id/credits': { amount: 5, reason: 'goodwill' },
  'POST /admin/v1/runner-tokens': { name: 'gpu-1' },
  'PUT /admin/v1/plans/:name': { monthlyCredits: 5 },
  'POST /admin/v1/session-keys/rotate': null,
  'POST /v1/webhook-endpoints': { url: 'https://hooks.acme.test/atelier', events: ['generation.completed'] },
  'PATCH /v1/webhook-endpoints/:id': { enabled: true },
  'DELETE /v1/webhook-endpoints/:id': null,
  'POST /v1/webhook-endpoints/:id/rotate-secret': { graceSeconds: 0 },
  'POST /v1/webhook-endpoints/:id/deliveries/:deliveryId/redeliver': null,
  'POST /shopify/api/billing/subscribe': { plan: 'pro' },
  'POST /shopify/api/billing/cancel': null,
  'PUT /shopify/api/settings': { branding: { fontFamily: 'Georgia, serif' } },
  'PUT /shopify/api/quotas': { guestPerDay: 3, customerPerDay: 10 },
  'POST /shopify/api/results/:imageId/:action': null,
  'POST /shopify/api/results/:imageId/media': { productId: 'gid://shopify/Product/1' },
  'POST /shopify/proxy/picks': { imageId: 'img_none', sessionToken: 'not-a-session' },
};

/** A route served by a pattern (the content-hashed widget studio), as the route table lists it. */

const OPERATORS = [{ $ne: '' }, { $gt: '' }, { $where: 'return true' }, { $regex: '.*' }, { $nor: [{ x: 1 }] }];

/** Raw JSON, since an object literal's `__proto__` sets the prototype instead of adding a key. */
const POLLUTING_BODIES = [
  '{"__proto__": {"polluted": true}}',
  '{"constructor": {"prototype": {"polluted": true}}}',
  '{"prototype": {"polluted": true}}',
  '{"label": "x", "nested": [{"deeper": {"__proto__": {"polluted": true}}}]}',
];

const QUERIES: [string, RegExp][] = [
  ['limit[$gt]=', /bracket/],
  ['cursor[$ne]=x', /bracket/],
  ['a[b][c]=', /bracket/],
  ['$where=1', /operator/],
  ['__proto__[polluted]=1', /bracket/],
  ['__proto__=x', /not allowed as a key/],
  ['constructor=x', /not allowed as a key/],
];

beforeAll(async () => {
  shopifyApp = await startShopifyTestApp();
  server = shopifyApp.server;
  shopifyApp.shopify.addShop(SHOP);
  const installed = await fetch(new URL('/shopify/api/shop', server.url), {
    headers: { Authorization: `Bearer ${shopifyApp.shopify.signer.sessionToken({ shop: SHOP })}` },
  });
  expect(installed.status).toBe(200);
  tenant = await server.createTenant({ name: 'Acme', plan: 'enterprise' });
  generationId = await createGeneration(server, tenant.secretKey);
  const key = await server.api(tenant.secretKey, '/v1/keys', { body: { kind: 'secret' } });
  keyId = ((await key.json()) as { id: string }).id;
  // A `.test` host never resolves, so registering it needs no network; nothing is ever delivered here.
  const webhook = await server.api(tenant.secretKey, '/v1/webhook-endpoints', {
    body: { url: 'https://hooks.acme.test/atelier', events: ['generation.completed'] },
  });
  webhookEndpointId = ((await webhook.json()) as { id: string }).id;
});

afterAll(() => shopifyApp.stop());

/** Documents per collection, all tenants: what must not move. */
function counts(): Promise<Record<string, number>> {
  return runAsSystem('test: count every collection', async () => {
    const models = { ...server.database.models, ...server.shopify!.models };
    const entries = await Promise.all(
      Object.entries(models).map(async ([name, model]) => [name, await model.countDocuments()] as const),
    );
    return Object.fromEntries(entries);
  });
}

interface Target {
  method: string;
  /** The route with its parameters filled in, and any query string it needs. */
  url: URL;
  authorization: string | undefined;
}

function target(route: string): Target {
  const [method, template] = route.split(' ') as [string, string];
  const endpoint = server.endpoints.find((ep) => ep.method.toUpperCase() === method && ep.path === template);
  if (template === String(STUDIO_PATH))
    return { method, url: new URL('/atelier-studio.0123456789.js', server.url), authorization: undefined };
  if (template === '/v1/assets/:tenantId/:assetId') {
    return { method, url: new URL(server.services.signer.assetUrl(tenant.tenantId, newId('upl'))), authorization: undefined };
  }
  if (template === '/v1/files/:tenantId/:file') {
    return {
      method,
      url: new URL(server.services.signer.imageUrl(tenant.tenantId, newId('img'), 'png')),
      authorization: undefined,
    };
  }
  const path = template
    .replace('/generations/:id', `/generations/${generationId}`)
    .replace('/keys/:id', `/keys/${keyId}`)
    .replace('/loras/:id', `/loras/${newId('lra')}`)
    .replace('/images/:id', `/images/${newId('img')}`)
    .replace('/tenants/:id', `/tenants/${tenant.tenantId}`)
    .replace('/plans/:name', '/plans/pro')
    .replace('/realtime/stream/:id', `/realtime/stream/${newId('str')}`)
    .replace('/webhook-endpoints/:id', `/webhook-endpoints/${webhookEndpointId}`)
    .replace('/deliveries/:deliveryId', `/deliveries/${newId('msg')}`)
    .replace('/data-requests/:id', '/data-requests/dxp_none')
    .replace('/admin/:file', '/admin/admin-app.js')
    .replace('/results/:imageId', `/results/${newId('img')}`)
    .replace('/:action', '/approve');
  expect(path, `${route}: fill in its parameters`).not.toContain(':');
  // The embedded admin's routes take the session token App Bridge adds (minted per request: it lives a minute).
  // The app proxy believes only a query Shopify signed (the battery's parameters come after it).
  if (template.startsWith('/shopify/proxy/')) {
    const signed = shopifyApp.shopify.signer.proxyQuery({ shop: SHOP });
    return { method, url: new URL(`${path}?${signed.toString()}`, server.url), authorization: undefined };
  }
  if (template.startsWith('/shopify/api/')) {
    return { method, url: new URL(path, server.url), authorization: shopifyApp.shopify.signer.sessionToken({ shop: SHOP }) };
  }
  const authorization = !endpoint ? undefined : endpoint.auth === 'admin' ? TEST_ADMIN_TOKEN : tenant.secretKey;
  return { method, url: new URL(path, server.url), authorization };
}

function send(t: Target, options: { query?: string; body?: string } = {}): Promise<Response> {
  const url = new URL(t.url);
  if (options.query) url.search = url.search ? `${url.search}&${options.query}` : `?${options.query}`;
  return fetch(url, {
    method: t.method,
    headers: {
      'Content-Type': 'application/json',
      ...(t.authorization ? { Authorization: `Bearer ${t.authorization}` } : {}),
    },
    ...(options.body === undefined ? {} : { body: options.body }),
  });
}

async function expectRefused(response: Response, detail: RegExp, what: string): Promise<void> {
  const problem = await expectProblem(response, 400, 'invalid_request');
  expect(problem.detail, what).toMatch(detail);
}

/** The payloads for a route's body: operators at the top, in each of its own fields, and nested deeper. */
function bodyPayloads(base: Record<string, unknown>): [string, RegExp][] {
  const payloads: [string, RegExp][] = [];
  for (const operator of OPERATORS) {
    payloads.push([JSON.stringify({ ...base, ...operator }), /operator/]);
    payloads.push([JSON.stringify({ ...base, extra: { deeper: [operator] } }), /operator/]);
    for (const field of Object.keys(base)) payloads.push([JSON.stringify({ ...base, [field]: operator }), /operator/]);
  }
  for (const raw of POLLUTING_BODIES) payloads.push([raw, /not allowed as a key/]);
  payloads.push([JSON.stringify({ ...base, unexpectedField: 1 }), /unexpectedField: unknown field/]);
  return payloads;
}

describe('hostile input on every route', () => {
  it('has a body (or none) on file for every route that is not a GET, and none for a route that is gone', () => {
    const writes = server.routes.filter((route) => !route.startsWith('GET '));
    expect([...Object.keys(VALID_BODIES), ...RAW_BODY_ROUTES, ...STREAM_ROUTES, ...SIGNED_ROUTES].sort()).toEqual(writes.sort());
  });

  it('refuses hostile input on the routes that take a file, each with its own clear 4xx, storing nothing', async () => {
    const before = await counts();
    const fileTypes: Record<string, string> = { 'POST /v1/uploads': 'image/png', 'POST /v1/loras': 'application/octet-stream' };
    for (const route of RAW_BODY_ROUTES) {
      const t = target(route);
      const withType = (contentType: string, body: string, query = '') => {
        const url = new URL(t.url);
        url.search = query;
        return fetch(url, {
          method: t.method,
          headers: { 'Content-Type': contentType, Authorization: `Bearer ${t.authorization}` },
          body,
        });
      };
      for (const [body, detail] of bodyPayloads({})) {
        // As JSON: operators and prototype keys are refused by the JSON reader itself, as on
        // every route; a clean object by the route, which takes a file and says which type.
        const asJson = await withType('application/json', body);
        if (body.includes('unexpectedField'))
          expect((await expectProblem(asJson, 415, 'unsupported_media_type')).detail, body).toMatch(/Content-Type/);
        else await expectRefused(asJson, detail, `${route} ${body}`);
        // The same bytes under the file's own type: read as a file, and refused as no valid one.
        const asFile = await expectProblem(await withType(fileTypes[route]!, body), 400, 'invalid_request');
        expect(asFile.detail, `${route} ${body}`).toMatch(/not a (readable PNG image|valid \.safetensors file)/);
      }
      await expectRefused(
        await withType(fileTypes[route]!, 'x', 'unexpectedParam=1'),
        /unexpectedParam: unknown field/,
        `${route} ?unexpectedParam=1`,
      );
    }
    expect(await counts()).toEqual(before);
  });

  it('refuses operators, pollution and unknown fields in every body with a 400 naming the problem, changing nothing', async () => {
    const before = await counts();
    for (const [route, base] of Object.entries(VALID_BODIES)) {
      const t = target(route);
      for (const [body, detail] of bodyPayloads(base ?? {}))
        await expectRefused(await send(t, { body }), detail, `${route} ${body}`);
    }
    expect(await counts()).toEqual(before);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('refuses bracketed and operator query parameters on every route, and unknown ones on every endpoint', async () => {
    const before = await counts();
    for (const route of server.routes.filter((r) => !SIGNED_ROUTES.includes(r))) {
      const t = target(route);
      for (const [query, detail] of QUERIES) await expectRefused(await send(t, { query }), detail, `${route} ?${query}`);
    }
    // The embedded page opens with Shopify's own parameters (plain names, never listed here): all welcome.
    const launch = new URLSearchParams({ shop: SHOP, host: 'YWRtaW4', embedded: '1', id_token: 'x', hmac: '0', locale: 'en' });
    expect((await fetch(new URL(`/shopify?${launch.toString()}`, server.url))).status).toBe(200);
    // The endpoints' inputs are all declared; a public file or bundle may carry a cache-buster.
    for (const { method, path } of server.endpoints) {
      const route = `${method.toUpperCase()} ${path}`;
      if (RAW_BODY_ROUTES.includes(route)) continue;
      const base = VALID_BODIES[route];
      const response = await send(target(route), {
        query: 'unexpectedParam=1',
        ...(base ? { body: JSON.stringify(base) } : {}),
      });
      await expectRefused(response, /unexpectedParam: unknown field/, `${route} ?unexpectedParam=1`);
    }
    expect(await counts()).toEqual(before);
  });

  it("refuses operators in the audit log's filter and cursor as values, never as a query", async () => {
    const before = await counts();
    for (const route of ['GET /v1/audit-events', 'GET /admin/v1/tenants/:id/audit-events', 'GET /admin/v1/audit-events']) {
      for (const [query, detail] of [
        ['action=%7B%22%24ne%22%3A%22%22%7D', /is not an audit action/],
        ['action=%24where', /is not an audit action/],
        ['action[$in][]=key.created', /bracket/],
        ['cursor=%7B%22%24gt%22%3A%22%22%7D', /cursor does not name a(n| platform) audit event/],
      ] as const) {
        await expectRefused(await send(target(route), { query }), detail, `${route} ?${query}`);
      }
    }
    expect(await counts()).toEqual(before);
  });

  it('answers an oversized body on every route that reads one with 413 payload_too_large', async () => {
    const before = await counts();
    const huge = JSON.stringify({ prompt: 'x'.repeat(200 * 1024) });
    for (const route of Object.keys(VALID_BODIES)) {
      const response = await send(target(route), { body: huge });
      await expectProblem(response, 413, 'payload_too_large');
    }
    expect(await counts()).toEqual(before);
  });
});

describe("hostile input on Shopify's webhook route", () => {
  const post = (headers: Record<string, string>, body: string, query = '') =>
    fetch(new URL(`/shopify/webhooks${query}`, server.url), { method: 'POST', headers, body });

  it('refuses every hostile body without a valid HMAC (401), and hostile queries alike, storing nothing', async () => {
    const before = await counts();
    const unsigned = shopifyApp.shopify.signer.webhook({ topic: 'app/uninstalled', shop: SHOP, payload: {} }).headers;
    for (const [body] of [...bodyPayloads({ myshopify_domain: SHOP }), ['not json', /./] as const]) {
      await expectProblem(await post({ ...unsigned, 'X-Shopify-Hmac-Sha256': 'AAAA' }, body), 401, 'unauthorized');
    }
    for (const [query] of QUERIES) {
      const signed = shopifyApp.shopify.signer.webhook({ topic: 'shop/update', shop: SHOP, payload: { myshopify_domain: SHOP } });
      const response = await post({ ...signed.headers, 'X-Shopify-Hmac-Sha256': 'AAAA' }, signed.body, `?${query}`);
      await expectProblem(response, 401, 'unauthorized');
    }
    expect(await counts()).toEqual(before);
  });

  it('refuses a signed body that is not a JSON object, or names another shop, with a 400 saying so, storing nothing', async () => {
    const before = await counts();
    const cases: [string, unknown, RegExp][] = [
      ['app/uninstalled', [SHOP], /not an object/],
      ['app/uninstalled', 'x', /not an object/],
      ['app/uninstalled', { myshopify_domain: 'someone-else.myshopify.com' }, /another shop/],
      ['shop/update', { myshopify_domain: { $ne: '' } }, /another shop/],
      ['orders/create', { myshopify_domain: SHOP }, /does not subscribe to orders\/create/],
    ];
    for (const [topic, payload, detail] of cases) {
      const signed = shopifyApp.shopify.signer.webhook({ topic, shop: SHOP, payload });
      const problem = await expectProblem(await post(signed.headers, signed.body), 400, 'invalid_request');
      expect(problem.detail, `${topic} ${JSON.stringify(payload)}`).toMatch(detail);
    }
    const broken = shopifyApp.shopify.signer.webhook({ topic: 'shop/update', shop: SHOP, payload: {} });
    const raw = '{"myshopify_domain": ';
    const resigned = {
      ...broken.headers,
      'X-Shopify-Hmac-Sha256': createHmac('sha256', TEST_SHOPIFY_API_SECRET).update(raw).digest('base64'),
    };
    const problem = await expectProblem(await post(resigned, raw), 400, 'invalid_request');
    expect(problem.detail).toMatch(/not JSON/);
    expect(await counts()).toEqual(before);
  });

  it('answers a body past its 1 MB limit with 413 payload_too_large', async () => {
    const before = await counts();
    const signed = shopifyApp.shopify.signer.webhook({
      topic: 'shop/update',
      shop: SHOP,
      payload: { myshopify_domain: SHOP, name: 'x'.repeat(1_100_000) },
    });
    await expectProblem(await post(signed.headers, signed.body), 413, 'payload_too_large');
    expect(await counts()).toEqual(before);
  });
});

describe('the database layer underneath', () => {
  it('treats an operator object from input as a plain value (sanitizeFilter) and refuses unknown filter paths (strictQuery)', async () => {
    const { Generation } = server.database.models;
    await runWithTenant(tenant.tenantId, async () => {
      expect(await Generation.countDocuments({ _id: generationId })).toBe(1);
      // Wrapped in $eq, the object is a value to compare, and no string: refused, never "not equal to ''".
      await expect(Generation.countDocuments({ _id: { $ne: '' } as unknown as string })).rejects.toThrow(/Cast to string/);
      await expect(Generation.countDocuments({ $where: 'return true' } as never)).rejects.toThrow(/\$where is not allowed/);
      await expect(Generation.countDocuments({ notAField: 'x' } as never)).rejects.toThrow(/notAField/);
    });
  });
});
