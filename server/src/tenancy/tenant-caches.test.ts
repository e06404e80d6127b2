import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TenantConfig } from '@atelier/protocol';
import {
  adminRequest,
  connectWidget,
  createGeneration,
  startTestServer,
  type TestServer,
  type WidgetProbe,
} from '@atelier/testing';
import { runAsSystem, runWithTenant, TenantScopeError } from './tenant-context.js';

/**
 * What the server keeps in memory between requests, read for one tenant and then asked
 * for by another: plans (cached by plan name, and the plan is always the asking
 * tenant's), the configuration and policy (not cached; a policy is refused for a tenant
 * other than the one in scope), queue positions (the tenant's own jobs only) and the
 * widget's welcome. A value of A's never answers B.
 */

type Tenant = { tenantId: string; secretKey: string; publishableKey: string };

let server: TestServer;
let acme: Tenant;
let globex: Tenant;
const sockets: WidgetProbe[] = [];

beforeAll(async () => {
  server = await startTestServer();
  acme = await server.createTenant({ name: 'Acme', plan: 'pro', origins: ['https://acme.test'] });
  globex = await server.createTenant({ name: 'Globex', plan: 'free', origins: ['https://globex.test'] });
});

afterAll(async () => {
  await Promise.all(sockets.map((socket) => socket.close()));
  await server.stop();
});

async function config(tenant: Tenant): Promise<TenantConfig> {
  const response = await server.api(tenant.secretKey, '/v1/config');
  expect(response.status).toBe(200);
  return (await response.json()) as TenantConfig;
}

const tenantDoc = (tenantId: string) =>
  runAsSystem('test: read tenant', () => server.database.models.Tenant.findById(tenantId).lean());

describe('in-memory state, tenant by tenant', () => {
  it("answers each tenant from its own plan, right after another tenant's plan was read and cached", async () => {
    expect((await config(acme)).presets.allowed).toContain('quality');
    expect((await config(globex)).presets.allowed).not.toContain('quality');
    expect((await config(acme)).presets.allowed).toContain('quality');

    // A plan change reaches its tenants at once, and only them.
    expect((await adminRequest(server.url, 'PUT', '/admin/v1/plans/free', { presets: ['lightning'] })).status).toBe(200);
    expect((await config(globex)).presets.allowed).toEqual(['lightning']);
    expect((await config(acme)).presets.allowed).toContain('quality');
    expect((await adminRequest(server.url, 'PATCH', `/admin/v1/tenants/${acme.tenantId}`, { plan: 'free' })).status).toBe(200);
    expect((await config(acme)).presets.allowed).toEqual(['lightning']);
    expect((await adminRequest(server.url, 'PATCH', `/admin/v1/tenants/${acme.tenantId}`, { plan: 'pro' })).status).toBe(200);
  });

  it("keeps one tenant's configuration change out of the other's, read before and after", async () => {
    const before = await config(globex);
    await server.api(acme.secretKey, '/v1/config', { method: 'PUT', body: { retentionDays: 3 } });
    expect((await config(acme)).retentionDays).toBe(3);
    expect(await config(globex)).toEqual(before);
  });

  it('refuses a policy for a tenant other than the one in scope', async () => {
    const acmeTenant = (await tenantDoc(acme.tenantId))!;
    await expect(runWithTenant(globex.tenantId, () => server.services.configs.policy(acmeTenant))).rejects.toBeInstanceOf(
      TenantScopeError,
    );
  });

  it("counts only the tenant's own jobs in a queue position", async () => {
    for (let i = 0; i < 3; i += 1) await createGeneration(server, acme.secretKey);
    const response = await server.api(globex.secretKey, '/v1/generations', { body: { prompt: 'a chair' } });
    expect(((await response.json()) as { queue: { position: number } }).queue.position).toBe(1);
    const fourth = await server.api(acme.secretKey, '/v1/generations', { body: { prompt: 'a lamp' } });
    expect(((await fourth.json()) as { queue: { position: number } }).queue.position).toBe(4);
  });

  it("welcomes each widget with its own tenant's name and presets, one socket after the other", async () => {
    const first = await connectWidget(server.url, acme.publishableKey, 'https://acme.test');
    const second = await connectWidget(server.url, globex.publishableKey, 'https://globex.test');
    sockets.push(first.widget, second.widget);
    expect(first.welcome.config).toMatchObject({ tenantName: 'Acme' });
    expect(first.welcome.config.performances).toContain('quality');
    expect(second.welcome.config).toMatchObject({ tenantName: 'Globex', performances: ['lightning'] });
  });
});
