import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { AuditEventBody, AuditEventListBody } from '@atelier/protocol';
import {
  completeJob,
  connectRunner,
  expectProblem,
  pngBytes,
  readJob,
  shopperJob,
  startShopifyTestApp,
  type RunnerProbe,
  type ShopifyTestApp,
} from '@atelier/testing';

let app: ShopifyTestApp;
let runner: RunnerProbe;
const SHOP = 'exports.myshopify.com';
const OTHER = 'exports-other.myshopify.com';
const CUSTOMER = '8080';
const PROMPT = 'a walnut serving board on linen';

const admin = (path: string, shop = SHOP) =>
  fetch(`${app.server.url}/shopify/api/data-requests${path}`, {
    headers: { Authorization: `Bearer ${app.shopify.signer.sessionToken({ shop })}` },
  });

async function webhook(topic: string, eventId: string, payload: unknown): Promise<void> {
  const signed = app.shopify.signer.webhook({ topic, shop: SHOP, eventId, payload });
  const response = await fetch(`${app.server.url}/shopify/webhooks`, {
    method: 'POST',
    headers: signed.headers,
    body: signed.body,
  });
  expect(response.status).toBe(200);
  await vi.waitFor(async () =>
    expect((await app.server.shopify!.models.WebhookEvent.findById(eventId).lean())?.status).toBe('done'),
  );
}

/** The shop's tenant's audit log of `action`, as the operator reads it, newest first. */
async function audited(action: string): Promise<AuditEventBody[]> {
  const { tenantId } = (await app.server.shopify!.models.Shop.findById(SHOP).lean())!;
  const response = await app.server.admin(`/admin/v1/tenants/${tenantId}/audit-events?action=${action}&limit=100`);
  expect(response.status).toBe(200);
  return ((await response.json()) as AuditEventListBody).data;
}

/** An audit entry holds counts and ids, nothing of the customer's. */
function expectNothingPersonal(event: AuditEventBody): void {
  const text = JSON.stringify(event);
  for (const personal of [CUSTOMER, 'robin@example.com', PROMPT]) expect(text).not.toContain(personal);
}

interface ExportBody {
  customerId: string;
  requestId: string;
  generations: {
    id: string;
    status: string;
    params: { prompt: string };
    createdAt: string;
    finishedAt: string | null;
    images: { url: string; expiresAt: string; format: string }[];
  }[];
}

beforeAll(async () => {
  app = await startShopifyTestApp();
  for (const shop of [SHOP, OTHER]) {
    app.shopify.addShop(shop);
    expect((await admin('', shop)).status).toBe(200);
  }
  runner = await connectRunner(app.server.url, await app.server.createRunnerToken());
});

afterAll(async () => {
  await runner?.close();
  await app?.stop();
});

/** The customer generates on the storefront (app proxy + widget socket) and the runner finishes the job. */
async function customerGenerates(): Promise<string> {
  const id = await shopperJob({
    serverUrl: app.server.url,
    signer: app.shopify.signer,
    shop: SHOP,
    customerId: CUSTOMER,
    params: { prompt: PROMPT, performance: 'speed' },
    ref: 'export',
  });
  runner.send({ type: 'ready' });
  const job = await runner.receive('job', (message) => message.jobId === id);
  completeJob(runner, job, [await pngBytes(64)]);
  await vi.waitFor(async () => expect((await readJob(app.server, id)).status).toBe('succeeded'));
  return id;
}

describe('customers/data_request', () => {
  it('hands the merchant an export of the customer’s generations, with prompts, dates and image links that work for a week', async () => {
    const jobId = await customerGenerates();
    const customer = { id: Number(CUSTOMER), email: 'robin@example.com', phone: null };
    await webhook('customers/data_request', 'export-1', { shop_id: 1, shop_domain: SHOP, customer, data_request: { id: 77 } });
    // A redelivery of the same event adds no second request.
    await webhook('customers/data_request', 'export-1', { shop_id: 1, shop_domain: SHOP, customer, data_request: { id: 77 } });

    const list = (await (await admin('')).json()) as { data: { id: string; customerId: string; generations: number }[] };
    expect(list.data).toEqual([
      expect.objectContaining({ customerId: CUSTOMER, requestId: '77', generations: 1, downloadedAt: null }),
    ]);

    // The request alone exports nothing.
    expect(await audited('data.exported')).toEqual([]);
    const response = await admin(`/${list.data[0]!.id}`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-disposition')).toBe(`attachment; filename="atelier-customer-${CUSTOMER}.json"`);
    const body = (await response.json()) as ExportBody;
    expect(body).toMatchObject({ customerId: CUSTOMER, requestId: '77' });
    expect(body.generations).toHaveLength(1);
    const [generation] = body.generations;
    expect(generation).toMatchObject({ id: jobId, status: 'succeeded', params: { prompt: PROMPT, performance: 'speed' } });
    expect(Date.parse(generation!.createdAt)).toBeLessThanOrEqual(Date.parse(generation!.finishedAt!));
    const [image] = generation!.images;
    const week = Date.now() + 7 * 86_400_000;
    expect(Math.abs(Date.parse(image!.expiresAt) - week)).toBeLessThan(60_000);
    expect(Number(new URL(image!.url).searchParams.get('expires')) * 1000).toBe(Date.parse(image!.expiresAt));
    const file = await fetch(image!.url);
    expect(file.status).toBe(200);
    expect(file.headers.get('content-type')).toBe('image/png');
    expect(
      ((await (await admin('')).json()) as { data: { downloadedAt: string | null }[] }).data[0]!.downloadedAt,
    ).not.toBeNull();

    // Each download is an export of the customer's data: one entry each, with counts only.
    const exported = await audited('data.exported');
    expect(exported).toEqual([
      expect.objectContaining({
        actor: { kind: 'shopify' },
        target: null,
        details: {
          reason: 'customers/data_request',
          request: list.data[0]!.id,
          generations: 1,
          images: 1,
          linksExpireAt: image!.expiresAt,
        },
      }),
    ]);
    expectNothingPersonal(exported[0]!);
    expect((await admin(`/${list.data[0]!.id}`)).status).toBe(200);
    expect(await audited('data.exported')).toHaveLength(2);
  });

  it("is not another shop's to list or download", async () => {
    const [request] = ((await (await admin('')).json()) as { data: { id: string }[] }).data;
    expect(((await (await admin('', OTHER)).json()) as { data: unknown[] }).data).toEqual([]);
    const foreign = await admin(`/${request!.id}`, OTHER);
    const unknown = await admin('/dxp_unknown', OTHER);
    const [f, u] = [await expectProblem(foreign, 404, 'not_found'), await expectProblem(unknown, 404, 'not_found')];
    expect(f.detail).toBe(u.detail);
    await expectProblem(await fetch(`${app.server.url}/shopify/api/data-requests/${request!.id}`), 401, 'unauthorized');
  });

  it('is gone once the customer is redacted', async () => {
    const [request] = ((await (await admin('')).json()) as { data: { id: string }[] }).data;
    await webhook('customers/redact', 'redact-1', {
      shop_id: 1,
      shop_domain: SHOP,
      customer: { id: Number(CUSTOMER) },
      orders_to_redact: [],
    });
    expect(((await (await admin('')).json()) as { data: unknown[] }).data).toEqual([]);
    await expectProblem(await admin(`/${request!.id}`), 404, 'not_found');

    const deleted = await audited('data.deleted');
    expect(deleted).toEqual([
      expect.objectContaining({
        actor: { kind: 'shopify' },
        details: { reason: 'customers/redact', request: 'redact-1', generations: 1, images: 1 },
      }),
    ]);
    expectNothingPersonal(deleted[0]!);
  });
});
