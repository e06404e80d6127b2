import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUDIT_ACTIONS, type AuditEventBody, type AuditEventListBody, type CreatedKeyBody } from '@atelier/protocol';
import { adminRequest, expectProblem, startTestServer, type TestServer } from '@atelier/testing';
import { runWithTenant } from '../../tenancy/tenant-context.js';

type Tenant = { tenantId: string; secretKey: string; publishableKey: string };

/** The server's clock (ServerOptions.now): every entry's time comes from it. */
let clock = Date.parse('2026-11-01T09:00:00Z');
let server: TestServer;
let acme: Tenant;
let globex: Tenant;

beforeAll(async () => {
  server = await startTestServer({}, { now: () => new Date(clock) });
  acme = await server.createTenant({ name: 'Acme' });
  globex = await server.createTenant({ name: 'Globex' });
});

afterAll(() => server.stop());

async function page(key: string, query = ''): Promise<AuditEventListBody> {
  const response = await server.api(key, `/v1/audit-events${query}`);
  expect(response.status, await response.clone().text()).toBe(200);
  return (await response.json()) as AuditEventListBody;
}

/** Every page from the first, following nextCursor. */
async function walk(fetchPage: (cursor?: string) => Promise<AuditEventListBody>): Promise<AuditEventBody[][]> {
  const pages: AuditEventBody[][] = [];
  let cursor: string | undefined;
  do {
    const next = await fetchPage(cursor);
    pages.push(next.data);
    cursor = next.nextCursor ?? undefined;
  } while (cursor);
  return pages;
}

/** Newest first: by time, then by id (both descending), as the cursor pages them. */
function expectNewestFirst(events: AuditEventBody[]): void {
  const sorted = [...events].sort((a, b) => (a.at === b.at ? (a.id < b.id ? 1 : -1) : a.at < b.at ? 1 : -1));
  expect(events.map((event) => event.id)).toEqual(sorted.map((event) => event.id));
}

const stored = (tenantId: string) =>
  runWithTenant(tenantId, () => server.database.models.AuditEvent.find().sort({ _id: 1 }).lean());

async function changeConfig(key: string, retentionDays: number): Promise<void> {
  expect((await server.api(key, '/v1/config', { method: 'PUT', body: { retentionDays } })).status).toBe(200);
}

describe('GET /v1/audit-events', () => {
  it("lists the tenant's own entries newest first, with who did what to what", async () => {
    clock += 60_000;
    await changeConfig(acme.secretKey, 12);
    clock += 60_000;
    const created = (await (await server.api(acme.secretKey, '/v1/keys', { body: { label: 'ci' } })).json()) as CreatedKeyBody;
    clock += 60_000;
    expect((await server.api(acme.secretKey, `/v1/keys/${created.id}`, { method: 'DELETE' })).status).toBe(200);

    const { data, nextCursor } = await page(acme.secretKey, '?limit=100');
    expect(nextCursor).toBeNull();
    expect(data.slice(0, 3).map((event) => event.action)).toEqual(['key.revoked', 'key.created', 'config.changed']);
    // Onboarding's entries share its moment; the operator made them all.
    const onboarding = data.filter((event) => event.at === data.at(-1)!.at);
    expect(onboarding.map((event) => event.action).sort()).toEqual([
      'credits.granted',
      'key.created',
      'key.created',
      'tenant.created',
    ]);
    expect(new Set(onboarding.map((event) => event.actor.kind))).toEqual(new Set(['admin']));
    const callerId = data[0]!.actor.id;
    expect(callerId).toMatch(/^key_/);
    expect(data[0]).toEqual({
      id: expect.stringMatching(/^aud_/),
      at: new Date(clock).toISOString(),
      action: 'key.revoked',
      actor: { kind: 'key', id: callerId },
      target: { kind: 'key', id: created.id },
      details: { kind: 'secret', hint: created.hint },
    });
    expect(data[1]).toMatchObject({ at: new Date(clock - 60_000).toISOString(), target: { kind: 'key', id: created.id } });
    expect(data[2]).toMatchObject({ details: { fields: ['retentionDays'] }, actor: { kind: 'key', id: callerId } });
    expect(data.map((event) => event.id).sort()).toEqual((await stored(acme.tenantId)).map((event) => event._id));
    expectNewestFirst(data);
  });

  it('pages with the cursor the last page ends with, entries of the same moment included, none twice or missed', async () => {
    // Four entries at one instant: the id breaks the tie, so the cursor can resume inside them.
    clock += 60_000;
    for (const days of [20, 21, 22, 23]) await changeConfig(acme.secretKey, days);
    const all = (await page(acme.secretKey, '?limit=100')).data;
    for (const limit of [1, 2, 3]) {
      const pages = await walk((cursor) => page(acme.secretKey, `?limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`));
      expect(pages.slice(0, -1).every((p) => p.length === limit)).toBe(true);
      expect(pages.flat().map((event) => event.id)).toEqual(all.map((event) => event.id));
    }
    expect(all.slice(0, 4).every((event) => event.at === new Date(clock).toISOString())).toBe(true);
    expectNewestFirst(all);
    expect((await page(acme.secretKey)).data).toHaveLength(Math.min(20, all.length));
  });

  it('filters by action, paging within it, and refuses an action it does not know, naming it', async () => {
    const changes = (await page(acme.secretKey, '?action=config.changed&limit=100')).data;
    expect(changes.length).toBeGreaterThanOrEqual(5);
    expect(new Set(changes.map((event) => event.action))).toEqual(new Set(['config.changed']));
    const pages = await walk((cursor) =>
      page(acme.secretKey, `?action=config.changed&limit=2${cursor ? `&cursor=${cursor}` : ''}`),
    );
    expect(pages.flat()).toEqual(changes);
    expect((await page(acme.secretKey, '?action=data.exported')).data).toEqual([]);

    for (const [query, named] of [
      ['?action=key.exploded', 'key.exploded'],
      ['?action=', '""'],
      ['?action=KEY.CREATED', 'KEY.CREATED'],
      ['?action=key.created&action=key.revoked', 'key.revoked'],
    ]) {
      const problem = await expectProblem(await server.api(acme.secretKey, `/v1/audit-events${query!}`), 400, 'invalid_request');
      expect(problem.detail, query).toContain(named);
      expect(problem.detail).toContain(AUDIT_ACTIONS.join(', '));
      expect(problem.errors).toEqual([expect.objectContaining({ field: 'action' })]);
    }
    for (const query of ['?limit=0', '?limit=101', '?cursor=aud_00000000000000000000', '?since=yesterday']) {
      await expectProblem(await server.api(acme.secretKey, `/v1/audit-events${query}`), 400, 'invalid_request');
    }
  });

  it('needs the audit:read scope, which a tenant’s first key holds', async () => {
    const first = await runWithTenant(acme.tenantId, () =>
      server.database.models.ApiKey.findOne({ kind: 'secret', label: 'default' }).lean(),
    );
    expect(first?.scopes).toContain('audit:read');
    const reader = (await (
      await server.api(acme.secretKey, '/v1/keys', { body: { scopes: ['generations:read', 'keys:read'] } })
    ).json()) as CreatedKeyBody;
    const denied = await expectProblem(await server.api(reader.key, '/v1/audit-events'), 403, 'forbidden');
    expect(denied.detail).toContain('audit:read');
    expect(denied.missingScopes).toEqual(['audit:read']);
    clock += 60_000;
    const auditor = (await (
      await server.api(acme.secretKey, '/v1/keys', { body: { scopes: ['audit:read'] } })
    ).json()) as CreatedKeyBody;
    expect((await page(auditor.key)).data[0]).toMatchObject({ action: 'key.created', target: { id: auditor.id } });
    for (const credential of [acme.publishableKey, 'sk_test_nope']) {
      await expectProblem(await server.api(credential, '/v1/audit-events'), 401, 'unauthorized');
    }
  });

  it("shows a tenant none of another's entries, and refuses another's entry as a cursor as it refuses an unknown one", async () => {
    const mine = (await page(globex.secretKey, '?limit=100')).data;
    const theirs = (await page(acme.secretKey, '?limit=100')).data;
    expect(mine.length).toBeGreaterThan(0);
    const text = JSON.stringify(mine);
    for (const event of theirs) expect(text).not.toContain(event.id);
    expect(text).not.toContain(acme.tenantId);
    expect(mine.map((event) => event.id).sort()).toEqual((await stored(globex.tenantId)).map((event) => event._id));
    const foreign = await expectProblem(
      await server.api(globex.secretKey, `/v1/audit-events?cursor=${theirs[0]!.id}`),
      400,
      'invalid_request',
    );
    const unknown = await expectProblem(
      await server.api(globex.secretKey, '/v1/audit-events?cursor=aud_00000000000000000000'),
      400,
      'invalid_request',
    );
    expect(foreign.detail).toBe(unknown.detail);
  });
});

describe('GET /admin/v1/tenants/:id/audit-events', () => {
  it("answers the operator with the tenant's log, paged and filtered alike, and records the operator's own actions", async () => {
    clock += 60_000;
    expect((await server.admin(`/admin/v1/tenants/${globex.tenantId}/credits`, { amount: 5, reason: 'goodwill' })).status).toBe(
      201,
    );
    clock += 60_000;
    expect(
      (await adminRequest(server.url, 'PATCH', `/admin/v1/tenants/${globex.tenantId}`, { status: 'suspended' })).status,
    ).toBe(200);
    clock += 60_000;
    expect(
      (await adminRequest(server.url, 'PATCH', `/admin/v1/tenants/${globex.tenantId}`, { status: 'active', plan: 'basic' }))
        .status,
    ).toBe(200);

    const response = await server.admin(`/admin/v1/tenants/${globex.tenantId}/audit-events?limit=100`);
    expect(response.status).toBe(200);
    const { data } = (await response.json()) as AuditEventListBody;
    // The last PATCH made two entries at one moment (in id order), after the earlier actions.
    const actions = data.slice(0, 4).map((event) => [event.action, event.actor.kind]);
    expect(actions.slice(0, 2).sort()).toEqual([
      ['plan.changed', 'admin'],
      ['tenant.reactivated', 'admin'],
    ]);
    expect(data[0]!.at).toBe(data[1]!.at);
    expect(actions.slice(2)).toEqual([
      ['tenant.suspended', 'admin'],
      ['credits.granted', 'admin'],
    ]);
    expect(data.find((event) => event.action === 'plan.changed')!.details).toEqual({ from: 'pro', to: 'basic' });
    expect(data).toEqual((await page(globex.secretKey, '?limit=100')).data);
    // Onboarding's keys name who made the tenant.
    expect(data.filter((event) => event.action === 'key.created').map((event) => event.actor)).toEqual([
      { kind: 'admin' },
      { kind: 'admin' },
    ]);

    const filtered = (await (
      await server.admin(`/admin/v1/tenants/${globex.tenantId}/audit-events?action=tenant.suspended&limit=1`)
    ).json()) as AuditEventListBody;
    expect(filtered).toEqual({ data: [data[2]], nextCursor: null });
    const refused = await expectProblem(
      await server.admin(`/admin/v1/tenants/${globex.tenantId}/audit-events?action=tenant.exploded`),
      400,
      'invalid_request',
    );
    expect(refused.detail).toContain('tenant.exploded');
    await expectProblem(await server.admin('/admin/v1/tenants/ten_00000000000000000000/audit-events'), 404, 'not_found');
    await expectProblem(await server.api(acme.secretKey, `/admin/v1/tenants/${acme.tenantId}/audit-events`), 401, 'unauthorized');
  });

  it('keeps who deleted a tenant and when, once its own log is gone with its data', async () => {
    const doomed = await server.createTenant({ name: 'Initech' });
    clock += 60_000;
    const deletedAt = new Date(clock).toISOString();
    expect((await adminRequest(server.url, 'DELETE', `/admin/v1/tenants/${doomed.tenantId}`)).status).toBe(200);
    expect(await stored(doomed.tenantId)).toEqual([]);

    const response = await server.admin(`/admin/v1/tenants/${doomed.tenantId}/audit-events`);
    expect(response.status).toBe(200);
    const { data, nextCursor } = (await response.json()) as AuditEventListBody;
    expect(nextCursor).toBeNull();
    expect(data).toEqual([
      {
        id: doomed.tenantId,
        at: deletedAt,
        action: 'tenant.deleted',
        actor: { kind: 'admin' },
        target: { kind: 'tenant', id: doomed.tenantId },
        details: {
          plan: 'pro',
          completedAt: expect.any(String),
          documents: expect.objectContaining({ audit_events: expect.any(Number), api_keys: 2 }),
          files: 0,
        },
      },
    ]);
    const list = async (query: string) =>
      ((await (await server.admin(`/admin/v1/tenants/${doomed.tenantId}/audit-events${query}`)).json()) as AuditEventListBody)
        .data;
    expect(await list('?action=tenant.deleted')).toEqual(data);
    expect(await list('?action=key.created')).toEqual([]);
    await expectProblem(await server.api(doomed.secretKey, '/v1/audit-events'), 401, 'unauthorized');
  });
});

describe('append-only', () => {
  it('serves the log only to GET: no route writes, changes or deletes an entry', async () => {
    expect(server.routes.filter((route) => route.includes('audit-events')).sort()).toEqual([
      'GET /admin/v1/audit-events',
      'GET /admin/v1/tenants/:id/audit-events',
      'GET /v1/audit-events',
    ]);
    const before = await stored(acme.tenantId);
    const [entry] = (await page(acme.secretKey)).data;
    for (const method of ['POST', 'PUT', 'PATCH', 'DELETE'] as const) {
      for (const path of ['/v1/audit-events', `/v1/audit-events/${entry!.id}`]) {
        const response = await server.api(acme.secretKey, path, { method, body: { action: 'key.revoked', details: {} } });
        await expectProblem(response, 404, 'not_found');
      }
      for (const path of [
        `/admin/v1/tenants/${acme.tenantId}/audit-events`,
        `/admin/v1/tenants/${acme.tenantId}/audit-events/${entry!.id}`,
        '/admin/v1/audit-events',
        `/admin/v1/audit-events/${entry!.id}`,
      ]) {
        await expectProblem(await adminRequest(server.url, method, path, { details: {} }), 404, 'not_found');
      }
    }
    expect(await stored(acme.tenantId)).toEqual(before);
  });
});
