import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import mongoose from 'mongoose';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { REALTIME_CLOSE, REALTIME_PROTOCOL_VERSION } from '@atelier/protocol';
import {
  adminRequest,
  expectProblem,
  openWidgetSocket,
  pngBytes,
  startInstantRunner,
  startTestServer,
  uploadRgba,
  type TestServer,
  type WidgetProbe,
} from '@atelier/testing';
import { tenantOwnedModels } from '../services/tenant-deletion.js';
import { runAsSystem } from '../tenancy/tenant-context.js';

/**
 * A tenant's life as the operator sees it (issue 6, "Onboarding"): suspending refuses new
 * work at once, on REST and on a widget socket already open, and nothing of another
 * tenant's; deleting removes every document, file and key of the tenant and leaves the
 * platform's record of who deleted it and when.
 */

const ORIGIN = 'https://lifecycle.test';
type Tenant = { tenantId: string; secretKey: string; publishableKey: string };

let server: TestServer;
const sockets: WidgetProbe[] = [];

beforeAll(async () => {
  server = await startTestServer();
});

afterAll(async () => {
  await Promise.all(sockets.map((socket) => socket.close()));
  await server.stop();
});

const admin = (path: string, method: 'PATCH' | 'DELETE', body?: unknown) => adminRequest(server.url, method, path, body);

async function welcomed(tenant: Tenant): Promise<WidgetProbe> {
  const widget = await openWidgetSocket(server.url, tenant.publishableKey, ORIGIN);
  sockets.push(widget);
  widget.send({ type: 'hello', v: REALTIME_PROTOCOL_VERSION });
  await widget.receive('welcome');
  return widget;
}

/** The widget's refusal of a key: one `error {code: unauthorized}`, then close 4401. */
async function expectSocketRefused(tenant: Tenant): Promise<void> {
  const widget = await openWidgetSocket(server.url, tenant.publishableKey, ORIGIN);
  sockets.push(widget);
  expect((await widget.closed()).code).toBe(REALTIME_CLOSE.unauthorized);
  expect(widget.log).toEqual([
    { type: 'error', code: 'unauthorized', message: expect.stringMatching(/publishable key is not valid/) },
  ]);
}

const generate = (tenant: Tenant) => server.api(tenant.secretKey, '/v1/generations', { body: { prompt: 'a walnut desk lamp' } });

/** Every document of the tenant in every tenant-owned collection, by model. */
async function documentsOf(tenantId: string): Promise<Record<string, number>> {
  return runAsSystem('test: count a tenant’s documents', async () => {
    const counts: Record<string, number> = {};
    for (const model of tenantOwnedModels(server.database.models)) {
      const n = await model.countDocuments({ tenantId });
      if (n > 0) counts[model.modelName] = n;
    }
    return counts;
  });
}

async function filesOf(tenantId: string): Promise<string[]> {
  return readdir(join(server.dataDir, 'files', 'tenants', tenantId), { recursive: true }).catch((error: unknown) => {
    if ((error as { code?: string }).code === 'ENOENT') return [];
    throw error;
  });
}

describe('suspending a tenant', () => {
  it('refuses its REST calls and its open sockets at once, leaves another tenant alone, and undoes on reactivation', async () => {
    const acme = await server.createTenant({ name: 'Acme', origins: [ORIGIN] });
    const globex = await server.createTenant({ name: 'Globex', origins: [ORIGIN] });
    const open = await welcomed(acme);
    const jobsBefore = (await documentsOf(acme.tenantId)).Generation ?? 0;

    expect((await admin(`/admin/v1/tenants/${acme.tenantId}`, 'PATCH', { status: 'suspended' })).status).toBe(200);

    const refused = await expectProblem(await generate(acme), 401, 'unauthorized');
    expect(refused.detail).toMatch(/not active/);
    open.send({ type: 'generate', ref: 'after-suspension', params: { prompt: 'a walnut desk lamp' } });
    expect(await open.receive('error', (m) => m.ref === 'after-suspension')).toMatchObject({
      code: 'forbidden',
      message: expect.stringMatching(/suspended/),
    });
    expect((await documentsOf(acme.tenantId)).Generation ?? 0).toBe(jobsBefore);
    // A new socket is not let in either.
    await expectSocketRefused(acme);
    expect((await generate(globex)).status).toBe(202);
    const audit = await runAsSystem('test: audit', () =>
      server.database.models.AuditEvent.find({ tenantId: acme.tenantId, action: 'tenant.suspended' }).lean(),
    );
    expect(audit).toHaveLength(1);
    expect(audit[0]!.actor).toMatchObject({ kind: 'admin' });

    expect((await admin(`/admin/v1/tenants/${acme.tenantId}`, 'PATCH', { status: 'active' })).status).toBe(200);
    expect((await generate(acme)).status).toBe(202);
  });
});

describe("a suspended tenant's queued jobs", () => {
  it('are not dispatched while it is suspended, and run once it is reactivated; another tenant is served meanwhile', async () => {
    const acme = await server.createTenant({ name: 'Acme queued', origins: [ORIGIN] });
    const globex = await server.createTenant({ name: 'Globex queued', origins: [ORIGIN] });
    // No runner is connected yet: the job waits in the queue.
    const queued = await generate(acme);
    expect(queued.status).toBe(202);
    const { id: waiting } = (await queued.json()) as { id: string };
    expect((await admin(`/admin/v1/tenants/${acme.tenantId}`, 'PATCH', { status: 'suspended' })).status).toBe(200);
    const served = (await (await generate(globex)).json()) as { id: string };

    const runner = await startInstantRunner(server.url, await server.createRunnerToken(), 'lifecycle', await pngBytes(7));
    try {
      const status = (id: string) =>
        runAsSystem('test: a job status', async () => (await server.database.models.Generation.findById(id).lean())!.status);
      // The runner works off every job it may have (the other tenant's, and any left by earlier
      // tests) until only the suspended tenant's is queued: it was passed over, not missed.
      await vi.waitFor(
        async () => {
          expect(await status(served.id)).toBe('succeeded');
          const others = await runAsSystem('test: queued jobs', () =>
            server.database.models.Generation.countDocuments({ status: 'queued', _id: mongoose.trusted({ $ne: waiting }) }),
          );
          expect(others).toBe(0);
        },
        { timeout: 30_000, interval: 50 },
      );
      await server.services.dispatcher.settled();
      expect(await status(waiting)).toBe('queued');
      expect(runner.jobs.map((job) => job.jobId)).not.toContain(waiting);

      expect((await admin(`/admin/v1/tenants/${acme.tenantId}`, 'PATCH', { status: 'active' })).status).toBe(200);
      await vi.waitFor(async () => expect(await status(waiting)).toBe('succeeded'), { timeout: 30_000, interval: 50 });
    } finally {
      await runner.close();
    }
  });
});

describe('deleting a tenant', () => {
  it('removes every document, file and key of the tenant, keeps another tenant whole, and records who deleted it', async () => {
    const created = await adminRequest(server.url, 'POST', '/admin/v1/tenants', {
      name: 'Doomed',
      plan: 'pro',
      origins: [ORIGIN],
    });
    const doomed = (await created.json()) as Tenant & { storagePrefix: string };
    expect(doomed.storagePrefix).toBe(`tenants/${doomed.tenantId}/`);
    const kept = await server.createTenant({ name: 'Kept', origins: [ORIGIN] });
    for (const tenant of [doomed, kept]) {
      await uploadRgba(server, tenant.secretKey, { width: 64, height: 64, rgba: Buffer.alloc(64 * 64 * 4, 200) });
      expect((await generate(tenant)).status).toBe(202);
      const config = await server.api(tenant.secretKey, '/v1/config', { method: 'PUT', body: { retentionDays: 7 } });
      expect(config.status).toBe(200);
    }
    const keptBefore = await documentsOf(kept.tenantId);
    const keptFiles = await filesOf(kept.tenantId);
    expect(Object.keys(await documentsOf(doomed.tenantId))).toEqual(
      expect.arrayContaining(['ApiKey', 'Generation', 'Upload', 'AuditEvent', 'CreditEntry', 'TenantConfig']),
    );
    expect(await filesOf(doomed.tenantId)).not.toEqual([]);

    const response = await admin(`/admin/v1/tenants/${doomed.tenantId}`, 'DELETE');
    expect(response.status).toBe(200);
    const body = (await response.json()) as { status: string; files: number; documents: Record<string, number> };
    expect(body.status).toBe('deleted');
    expect(body.files).toBeGreaterThan(0);

    expect(await documentsOf(doomed.tenantId)).toEqual({});
    expect(await filesOf(doomed.tenantId)).toEqual([]);
    await expectProblem(await generate(doomed), 401, 'unauthorized');
    await expectSocketRefused(doomed);
    const record = await runAsSystem('test: deletion record', () =>
      server.database.models.TenantDeletion.findById(doomed.tenantId).lean(),
    );
    expect(record).toMatchObject({ actor: { kind: 'admin' }, startedAt: expect.any(Date), completedAt: expect.any(Date) });

    expect(await documentsOf(kept.tenantId)).toEqual(keptBefore);
    expect(await filesOf(kept.tenantId)).toEqual(keptFiles);
    // A second deletion finds the tombstone: nothing more to remove, and the record stands.
    expect((await admin(`/admin/v1/tenants/${doomed.tenantId}`, 'DELETE')).status).toBe(200);
    expect(await documentsOf(doomed.tenantId)).toEqual({});
  });
});
