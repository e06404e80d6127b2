import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type {
  AuditEventListBody,
  CreatedRunnerTokenBody,
  CreatedWebhookEndpointBody,
  PlanBody,
  PlatformAuditEventBody,
  PlatformAuditEventListBody,
  RotatedWebhookSecretBody,
} from '@atelier/protocol';
import { adminRequest, expectProblem, startTestServer, type TestServer } from '@atelier/testing';
import { runAsSystem } from '../../tenancy/tenant-context.js';

type Tenant = { tenantId: string; secretKey: string; publishableKey: string };

/** The server's clock (ServerOptions.now): every entry's time comes from it. */
let clock = Date.parse('2026-11-02T09:00:00Z');
let server: TestServer;
let acme: Tenant;

/** Nothing listens there: the endpoints are only registered, never sent to. */
const HOOK_PORT = 9;

beforeAll(async () => {
  server = await startTestServer({ ATELIER_OUTGOING_ALLOW: `127.0.0.1/32:${HOOK_PORT}` }, { now: () => new Date(clock) });
  acme = await server.createTenant({ name: 'Acme', plan: 'enterprise' });
});

afterAll(() => server.stop());

async function platformPage(query = ''): Promise<PlatformAuditEventListBody> {
  const response = await server.admin(`/admin/v1/audit-events${query}`);
  expect(response.status, await response.clone().text()).toBe(200);
  return (await response.json()) as PlatformAuditEventListBody;
}

async function tenantLog(action: string): Promise<AuditEventListBody> {
  const response = await server.api(acme.secretKey, `/v1/audit-events?action=${action}&limit=100`);
  expect(response.status, await response.clone().text()).toBe(200);
  return (await response.json()) as AuditEventListBody;
}

async function json<T>(response: Response, status: number): Promise<T> {
  expect(response.status, await response.clone().text()).toBe(status);
  return (await response.json()) as T;
}

describe("webhook endpoints in the tenant's audit log", () => {
  it('records creation, change, secret rotation and deletion, by the key, without the secret', async () => {
    const url = `http://127.0.0.1:${HOOK_PORT}/hooks/a`;
    clock += 60_000;
    const created = await json<CreatedWebhookEndpointBody>(
      await server.api(acme.secretKey, '/v1/webhook-endpoints', { body: { url, events: ['generation.completed'] } }),
      201,
    );
    const path = `/v1/webhook-endpoints/${created.id}`;
    clock += 60_000;
    const moved = `http://127.0.0.1:${HOOK_PORT}/hooks/b`;
    await json(await server.api(acme.secretKey, path, { method: 'PATCH', body: { url: moved, enabled: false } }), 200);
    clock += 60_000;
    const rotated = await json<RotatedWebhookSecretBody>(
      await server.api(acme.secretKey, `${path}/rotate-secret`, { body: { graceSeconds: 60 } }),
      201,
    );
    clock += 60_000;
    await json(await server.api(acme.secretKey, path, { method: 'DELETE' }), 200);

    const target = { kind: 'webhook_endpoint', id: created.id };
    const [creation] = (await tenantLog('webhook.created')).data;
    const actor = { kind: 'key', id: expect.stringMatching(/^key_/) as string };
    expect(creation).toMatchObject({
      action: 'webhook.created',
      actor,
      target,
      details: { url, events: ['generation.completed'] },
    });
    const [change] = (await tenantLog('webhook.updated')).data;
    expect(change).toMatchObject({
      actor,
      target,
      details: { fields: ['url', 'enabled'], before: { url, enabled: true }, after: { url: moved, enabled: false } },
    });
    const [rotation] = (await tenantLog('webhook.secret_rotated')).data;
    expect(rotation).toMatchObject({ actor, target });
    expect(rotation!.details).toEqual({
      secretNumber: 2,
      graceSeconds: 60,
      previousSecretExpiresAt: rotated.previousSecretExpiresAt,
    });
    const [deletion] = (await tenantLog('webhook.deleted')).data;
    expect(deletion).toMatchObject({ actor, target, details: { url: moved } });
    expect([creation, change, rotation, deletion].map((event) => event!.at)).toEqual(
      [3, 2, 1, 0].map((minutesAgo) => new Date(clock - minutesAgo * 60_000).toISOString()),
    );

    const everything = JSON.stringify(await tenantLog('webhook.secret_rotated')) + JSON.stringify(creation);
    for (const secret of [created.secret, rotated.secret]) expect(everything).not.toContain(secret);
  });
});

describe('GET /admin/v1/audit-events', () => {
  it('records a plan change with each changed field before and after', async () => {
    const plans = await json<{ data: PlanBody[] }>(await server.admin('/admin/v1/plans'), 200);
    const pro = plans.data.find((plan) => plan.name === 'pro')!;
    clock += 60_000;
    const changes = { monthlyCredits: pro.monthlyCredits + 111, forcedWatermark: !pro.forcedWatermark };
    await json(await adminRequest(server.url, 'PUT', '/admin/v1/plans/pro', changes), 200);

    const [entry] = (await platformPage('?action=plan.updated')).data;
    expect(entry).toEqual({
      id: expect.stringMatching(/^aud_/),
      at: new Date(clock).toISOString(),
      action: 'plan.updated',
      actor: { kind: 'admin' },
      target: { kind: 'plan', id: 'pro' },
      details: {
        fields: ['monthlyCredits', 'forcedWatermark'],
        before: { monthlyCredits: pro.monthlyCredits, forcedWatermark: pro.forcedWatermark },
        after: changes,
      },
    });
  });

  it('records a minted runner token by id and name, never the token', async () => {
    clock += 60_000;
    const minted = await json<CreatedRunnerTokenBody>(await server.admin('/admin/v1/runner-tokens', { name: 'gpu-7' }), 201);
    const { data } = await platformPage('?action=runner_token.created');
    const entry = data.find((event) => event.target?.id === minted.id);
    expect(entry).toMatchObject({
      actor: { kind: 'admin' },
      target: { kind: 'runner_token', id: minted.id },
      details: { name: 'gpu-7' },
    });
    expect(JSON.stringify(data)).not.toContain(minted.token);
  });

  it('records a session-key rotation by kid, never the key', async () => {
    clock += 60_000;
    const { kid } = await json<{ kid: string }>(await server.admin('/admin/v1/session-keys/rotate', {}), 201);
    const { data } = await platformPage('?action=session_key.rotated');
    expect(data[0]).toMatchObject({
      at: new Date(clock).toISOString(),
      actor: { kind: 'admin' },
      target: { kind: 'session_key', id: kid },
    });
    // Exactly the key ids: nothing else can carry key material.
    expect(data[0]!.details).toEqual({ kid, previousKid: String(Number(kid) - 1).padStart(kid.length, '0') });
    const keys = await runAsSystem('test: read the signing keys', () => server.database.models.PlatformSecret.find().lean());
    expect(keys.length).toBeGreaterThan(1);
    for (const key of keys) expect(JSON.stringify(data)).not.toContain(key.value);
  });

  it('pages newest first, following nextCursor, without gaps or repeats', async () => {
    for (const name of ['page-1', 'page-2', 'page-3']) {
      clock += 1_000;
      await json(await server.admin('/admin/v1/runner-tokens', { name }), 201);
    }
    // Same moment, different ids: the id breaks the tie.
    await json(await server.admin('/admin/v1/runner-tokens', { name: 'page-4' }), 201);

    const everything = (await platformPage('?limit=100')).data;
    const sorted = [...everything].sort((a, b) => (a.at === b.at ? (a.id < b.id ? 1 : -1) : a.at < b.at ? 1 : -1));
    expect(everything.map((event) => event.id)).toEqual(sorted.map((event) => event.id));
    expect(everything.length).toBeGreaterThan(5);
    expect(
      everything
        .slice(0, 4)
        .map((event) => event.details.name)
        .sort(),
    ).toEqual(['page-1', 'page-2', 'page-3', 'page-4'].sort());

    const walked: PlatformAuditEventBody[] = [];
    let cursor: string | null = null;
    do {
      const next: PlatformAuditEventListBody = await platformPage(`?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      expect(next.data.length).toBeLessThanOrEqual(2);
      walked.push(...next.data);
      cursor = next.nextCursor;
    } while (cursor);
    expect(walked.map((event) => event.id)).toEqual(everything.map((event) => event.id));
  });

  it("is the operator's alone: a tenant's secret key is refused", async () => {
    const response = await server.api(acme.secretKey, '/admin/v1/audit-events');
    const text = await response.clone().text();
    await expectProblem(response, 401, 'unauthorized');
    expect(text).not.toContain('plan.updated');
  });

  it('refuses to change or delete an entry', async () => {
    const { PlatformAuditEvent } = server.database.models;
    const [entry] = (await platformPage('?limit=1')).data;
    await runAsSystem('test: tamper with the platform log', async () => {
      await expect(PlatformAuditEvent.updateOne({ _id: entry!.id }, { $set: { action: 'plan.updated' } })).rejects.toThrow(
        /append-only/,
      );
      await expect(PlatformAuditEvent.deleteOne({ _id: entry!.id })).rejects.toThrow(/append-only/);
    });
    expect((await platformPage('?limit=1')).data[0]).toEqual(entry);
  });
});
