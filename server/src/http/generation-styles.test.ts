import { PERFORMANCE_PRESETS, STYLE_LIBRARY, type ResolvedJobParams } from '@atelier/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectWidget, startTestServer, type TestServer } from '@atelier/testing';
import { runAsSystem } from '../tenancy/tenant-context.js';

let server: TestServer;
let tenant: { tenantId: string; secretKey: string };

beforeAll(async () => {
  server = await startTestServer();
  tenant = await server.createTenant({ name: 'Styled' });
});

afterAll(() => server.stop());

/** Creates a job and answers what the runner will be handed. */
async function resolved(
  body: Record<string, unknown>,
  key = tenant.secretKey,
): Promise<ResolvedJobParams & { id: string; seed: number }> {
  const response = await server.api(key, '/v1/generations', { body });
  expect(response.status).toBe(202);
  const { id } = (await response.json()) as { id: string };
  const job = await runAsSystem('test: read job', () => server.database.models.Generation.findById(id).lean());
  return { ...job!.resolved, id };
}

async function refused(body: Record<string, unknown>, key = tenant.secretKey): Promise<string> {
  const response = await server.api(key, '/v1/generations', { body });
  expect(response.status).toBe(400);
  return ((await response.json()) as { detail: string }).detail;
}

const configure = async (key: string, patch: unknown) => {
  const response = await server.api(key, '/v1/config', { method: 'PUT', body: patch });
  expect(response.status).toBe(200);
};

describe('styles', () => {
  it('has an original library of at least 40 product styles, each with a {prompt} slot', () => {
    expect(STYLE_LIBRARY.length).toBeGreaterThanOrEqual(40);
    expect(new Set(STYLE_LIBRARY.map((style) => style.name.toLowerCase())).size).toBe(STYLE_LIBRARY.length);
    for (const style of STYLE_LIBRARY) expect(style.prompt).toContain('{prompt}');
  });

  it('are applied server-side, in order, so the runner gets the final prompt and negative prompt', async () => {
    const job = await resolved({ prompt: 'a ceramic mug', styles: ['White Marble', 'winter holiday'], negativePrompt: 'logo' });
    const marble = STYLE_LIBRARY.find((style) => style.name === 'White Marble')!;
    const winter = STYLE_LIBRARY.find((style) => style.name === 'Winter Holiday')!;
    // The first slot takes the words; the second style's slot is dropped.
    expect(job.prompt).toBe(`${marble.prompt.replace('{prompt}', 'a ceramic mug')}, ${winter.prompt.replace('{prompt}, ', '')}`);
    expect(job.negativePrompt).toBe(`logo, ${marble.negativePrompt}, ${winter.negativePrompt}`);
  });

  it('leave the prompt and the absent negative prompt alone when none is named', async () => {
    const job = await resolved({ prompt: 'a ceramic mug' });
    expect(job.prompt).toBe('a ceramic mug');
    expect(job.negativePrompt).toBeUndefined();
  });

  it('refuse an unknown style with a 400 naming it, and create nothing', async () => {
    const before = await runAsSystem('test: count', () => server.database.models.Generation.countDocuments());
    expect(await refused({ prompt: 'mug', styles: ['White Marble', 'Velvet Underground'] })).toContain('"Velvet Underground"');
    expect(await runAsSystem('test: count', () => server.database.models.Generation.countDocuments())).toBe(before);
  });

  it("take the tenant's own styles, its allowed list and its defaults from its configuration", async () => {
    const own = await server.createTenant({ name: 'Own styles' });
    await configure(own.secretKey, {
      styles: {
        custom: [{ name: 'Brand Blue', prompt: 'brand photo of {prompt} on cobalt blue', negativePrompt: 'red' }],
        allowed: ['Brand Blue', 'Studio White'],
        default: ['Brand Blue'],
      },
    });
    const byDefault = await resolved({ prompt: 'a sneaker' }, own.secretKey);
    expect(byDefault.prompt).toBe('brand photo of a sneaker on cobalt blue');
    expect(byDefault.negativePrompt).toBe('red');
    expect((await resolved({ prompt: 'a sneaker', styles: [] }, own.secretKey)).prompt).toBe('a sneaker');
    expect(await refused({ prompt: 'a sneaker', styles: ['White Marble'] }, own.secretKey)).toContain(
      'style "White Marble" is not enabled',
    );
  });

  it("are listed in the widget's welcome, as the tenant allows them", async () => {
    const shop = await server.createTenant({ name: 'Shop', origins: ['http://shop.test'] });
    await configure(shop.secretKey, { styles: { allowed: ['Flat Lay Minimal', 'Luxury Gold'] } });
    const { widget, welcome } = await connectWidget(server.url, shop.publishableKey, 'http://shop.test');
    expect(welcome.config.styles).toEqual(['Flat Lay Minimal', 'Luxury Gold']);
    await widget.close();
    const { widget: other, welcome: everything } = await connectWidget(
      server.url,
      (await server.createTenant({ name: 'All', origins: ['http://all.test'] })).publishableKey,
      'http://all.test',
    );
    expect(everything.config.styles).toEqual(STYLE_LIBRARY.map((style) => style.name));
    await other.close();
  });

  it('refuse a prompt that no longer fits once the styles wrap it', async () => {
    const detail = await refused({ prompt: 'x'.repeat(1990), styles: ['Studio White'] });
    expect(detail).toMatch(/with its styles is \d+ characters; at most 2000/);
  });
});

describe('presets and sharpness', () => {
  it('resolve steps, sampler, spacing, guidance and sharpness from the shared preset data', async () => {
    for (const performance of ['quality', 'speed', 'extreme-speed', 'lightning'] as const) {
      const job = await resolved({ prompt: 'a lamp', performance });
      const preset = PERFORMANCE_PRESETS[performance];
      expect(job).toMatchObject({ steps: preset.steps, scheduler: preset.scheduler, guidance: preset.guidance });
      expect(job.timestepSpacing).toBe(preset.timestepSpacing);
      expect(job.sharpness).toBe(preset.sharpness > 0 ? preset.sharpness : undefined);
    }
    expect(PERFORMANCE_PRESETS.quality).toMatchObject({ steps: 60, guidance: 4, sharpness: 2 });
    expect(PERFORMANCE_PRESETS.lightning).toMatchObject({ steps: 4, guidance: 1, sharpness: 0, timestepSpacing: 'trailing' });
  });

  it('take a requested sharpness, and 0 turns it off', async () => {
    expect((await resolved({ prompt: 'a lamp', sharpness: 7.5 })).sharpness).toBe(7.5);
    expect((await resolved({ prompt: 'a lamp', sharpness: 0 })).sharpness).toBeUndefined();
  });
});

describe('seeds', () => {
  it('returns the seed used: the one asked for, or the one picked when none was', async () => {
    const chosen = await resolved({ prompt: 'a lamp', seed: 1234 });
    const chosenView = await server.api(tenant.secretKey, `/v1/generations/${chosen.id}`);
    expect(((await chosenView.json()) as { seed: number }).seed).toBe(1234);
    const picked = await resolved({ prompt: 'a lamp' });
    const view = (await (await server.api(tenant.secretKey, `/v1/generations/${picked.id}`)).json()) as {
      seed: number;
      params: { seed?: number };
    };
    expect(view.params.seed).toBeUndefined();
    expect(view.seed).toBe(picked.seed);
    expect(Number.isInteger(view.seed)).toBe(true);
  });
});
