import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TenantConfig } from '@atelier/protocol';
import { connectWidget, expectProblem, startTestServer, uploadRgba, type TestServer } from '@atelier/testing';

/**
 * What a plan includes is enforced wherever a tenant asks for more (issue 6, "Plans"):
 * its presets, images per request and largest picture on every request, and its presets
 * and forced watermark on a configuration change; and `PUT /v1/config` changes only what
 * it names.
 */

const ORIGIN = 'https://plans.test';
type Tenant = { tenantId: string; secretKey: string; publishableKey: string };

let server: TestServer;
const tenants: Partial<Record<'free' | 'basic' | 'pro', Tenant>> = {};
/** A 1024×1024 upload of each tenant: the size of its own pictures. */
const square: Partial<Record<'free' | 'basic' | 'pro', string>> = {};

beforeAll(async () => {
  server = await startTestServer();
  for (const plan of ['free', 'basic', 'pro'] as const) {
    const tenant = await server.createTenant({ name: `On ${plan}`, plan, origins: [ORIGIN] });
    tenants[plan] = tenant;
    square[plan] = await uploadRgba(server, tenant.secretKey, {
      width: 1024,
      height: 1024,
      rgba: Buffer.alloc(1024 * 1024 * 4, 128),
    });
  }
});

afterAll(() => server.stop());

const generate = (plan: keyof typeof tenants, body: Record<string, unknown>) =>
  server.api(tenants[plan]!.secretKey, '/v1/generations', { body: { prompt: 'a walnut desk lamp', ...body } });

async function config(plan: keyof typeof tenants, change?: unknown): Promise<Response> {
  return server.api(tenants[plan]!.secretKey, '/v1/config', change === undefined ? {} : { method: 'PUT', body: change });
}

describe("a request past the tenant's plan", () => {
  it.each([
    ['free', { performance: 'quality' }, /"quality" preset is not included in your plan/],
    ['basic', { imageCount: 3 }, /at most 2 image\(s\) per request/],
    ['free', { mode: 'upscale', upscaleFactor: 1.5 }, /at most 1048576 pixels; upscale of a 1024x1024 image would be 1536x1536/],
    ['basic', { mode: 'upscale', upscaleFactor: 2 }, /at most 2359296 pixels; upscale of a 1024x1024 image would be 2048x2048/],
  ] as const)('%s: %j is 403 saying what the plan allows, and creates nothing', async (plan, body, detail) => {
    const input = 'mode' in body ? { inputImageId: square[plan] } : {};
    const problem = await expectProblem(await generate(plan, { ...body, ...input }), 403, 'forbidden');
    expect(problem.detail).toMatch(detail);
    const list = (await (await server.api(tenants[plan]!.secretKey, '/v1/generations')).json()) as { data: unknown[] };
    expect(list.data).toEqual([]);
  });

  it('accepts what the plan includes: Basic upscales its pictures 1.5×, Pro 2×', async () => {
    expect((await generate('basic', { mode: 'upscale', upscaleFactor: 1.5, inputImageId: square.basic })).status).toBe(202);
    expect((await generate('pro', { mode: 'upscale', upscaleFactor: 2, inputImageId: square.pro })).status).toBe(202);
    expect((await generate('basic', { imageCount: 2 })).status).toBe(202);
  });

  it("tells the widget the plan's largest picture, so it offers only the upscales the plan allows", async () => {
    const { widget, welcome } = await connectWidget(server.url, tenants.basic!.publishableKey, ORIGIN);
    expect(welcome.config).toMatchObject({ maxImages: 2, maxPixels: 1536 * 1536 });
    await widget.close();
  });
});

describe('PUT /v1/config', () => {
  it('refuses a change that asks for more than the plan, naming the field, and keeps the configuration', async () => {
    const before = await (await config('free')).json();
    for (const [change, field] of [
      [{ presets: { allowed: ['quality', 'speed'] } }, 'presets.allowed'],
      [{ presets: { default: 'quality' } }, 'presets.default'],
      [{ output: { watermark: false } }, 'output.watermark'],
    ] as const) {
      const problem = await expectProblem(await config('free', change), 403, 'forbidden');
      expect(problem.detail).toContain(field);
      expect(problem.errors?.map((error) => error.field)).toEqual([field]);
    }
    expect(await (await config('free')).json()).toEqual(before);
  });

  it('changes only what it names (a merge patch): other sections stay, and null puts a section back to its defaults', async () => {
    const defaults = (await (await config('pro')).json()) as TenantConfig;
    const branding = { colors: { accent: '#0a7d5a' }, radius: 4 };
    expect((await config('pro', { branding })).status).toBe(200);
    expect((await config('pro', { retentionDays: 3 })).status).toBe(200);
    expect((await config('pro', { branding: { colors: { background: '#ffffff' } } })).status).toBe(200);
    const merged = (await (await config('pro')).json()) as TenantConfig;
    expect(merged.retentionDays).toBe(3);
    expect(merged.branding.radius).toBe(4);
    expect(merged.branding.colors).toEqual({ accent: '#0a7d5a', background: '#ffffff' });
    expect(merged.output).toEqual(defaults.output);

    expect((await config('pro', { branding: null })).status).toBe(200);
    const reset = (await (await config('pro')).json()) as TenantConfig;
    expect(reset.branding).toEqual(defaults.branding);
    expect(reset.retentionDays).toBe(3);
  });
});
