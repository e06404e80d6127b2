import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startRunnerProcess, startTestServer, type RunnerProcess, type TestServer, uploadRgba } from '@atelier/testing';
import type { CreditEntryListBody } from '@atelier/protocol';

/**
 * The output classifier end to end: a real server, the real runner process on the tiny
 * model, whose classifier (model/tiny-classifier.ts) scores the share of saturated magenta.
 * A background job keeps its product's pixels exactly, so a product photo that is mostly
 * magenta plants an "unsafe" result.
 */
let server: TestServer;
let runner: RunnerProcess;

interface View {
  status: string;
  images: { id: string; url: string; productFidelity?: number }[];
  error: { code: string; message: string } | null;
  cost: { credits: number };
}

beforeAll(async () => {
  server = await startTestServer();
  runner = await startRunnerProcess({ serverUrl: server.url, token: await server.createRunnerToken(), name: 'screening' });
  await runner.logged((line) => line.msg === 'connected to server', 120_000);
}, 180_000);

afterAll(async () => {
  await runner?.stop();
  await server?.stop();
});

/** A 96×80 cut-out whose opaque product (60×56, 44% of the image) is `colour`. */
async function uploadProduct(secretKey: string, colour: [number, number, number]): Promise<string> {
  const [width, height] = [96, 80];
  const rgba = Buffer.alloc(width * height * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const inside = x >= 18 && x < 78 && y >= 12 && y < 68;
      rgba.set(inside ? [...colour, 255] : [0, 0, 0, 0], (y * width + x) * 4);
    }
  }
  return uploadRgba(server, secretKey, { width, height, rgba });
}

async function generate(secretKey: string, body: Record<string, unknown>): Promise<{ id: string; view: View }> {
  const response = await server.api(secretKey, '/v1/generations', { body: { performance: 'lightning', ...body } });
  expect(response.status).toBe(202);
  const { id } = (await response.json()) as { id: string };
  const view = await vi.waitFor(
    async () => {
      const current = (await (await server.api(secretKey, `/v1/generations/${id}`)).json()) as View;
      if (current.status === 'queued' || current.status === 'running') throw new Error(`${id} is ${current.status}`);
      return current;
    },
    { timeout: 60_000, interval: 50 },
  );
  return { id, view };
}

const balanceOf = async (secretKey: string) =>
  (await (await server.api(secretKey, '/v1/balance')).json()) as { available: number; reserved: number };

/** Every file stored for the tenant, as paths under its prefix. */
async function storedFiles(tenantId: string): Promise<string[]> {
  const root = join(server.dataDir, 'files', 'tenants', tenantId);
  const entries = await readdir(root, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name).slice(root.length + 1))
    .sort();
}

/** The job's entries in the tenant's ledger (the operator's view of it). */
async function creditMovements(tenantId: string, jobId: string) {
  const { data } = (await (await server.admin(`/admin/v1/tenants/${tenantId}/credits`)).json()) as CreditEntryListBody;
  return data.filter((entry) => entry.jobId === jobId);
}

describe('output classifier', () => {
  it('refuses a planted unsafe image: the job fails with content_policy, nothing is stored, the credits come back', async () => {
    const tenant = await server.createTenant();
    const inputImageId = await uploadProduct(tenant.secretKey, [255, 0, 255]);
    const before = await balanceOf(tenant.secretKey);
    const filesBefore = await storedFiles(tenant.tenantId);
    expect(filesBefore).toEqual([`uploads/${inputImageId}.png`]);

    const { id, view } = await generate(tenant.secretKey, { prompt: 'on a marble counter', mode: 'background', inputImageId });
    expect(view.status).toBe('failed');
    expect(view.error?.code).toBe('content_policy');
    expect(view.images).toEqual([]);
    expect(view.cost.credits).toBeGreaterThan(0);

    expect(await storedFiles(tenant.tenantId)).toEqual(filesBefore);
    expect(await balanceOf(tenant.secretKey)).toEqual(before);
    const movements = await creditMovements(tenant.tenantId, id);
    const cost = view.cost.credits;
    expect(movements.map((entry) => [entry.kind, entry.amount, entry.reservedChange]).sort()).toEqual([
      ['release', 0, -cost],
      ['reserve', 0, cost],
    ]);
    // The runner said why, and sent no image frame for the job.
    const refused = await runner.logged((line) => line.msg === 'result refused by the output classifier');
    expect(refused.score).toBeGreaterThan(0.5);
  });

  it('passes safe images, and applies the tenant’s own threshold to the same planted image', async () => {
    const tenant = await server.createTenant();
    const before = await balanceOf(tenant.secretKey);
    const text = await generate(tenant.secretKey, { prompt: 'a walnut desk lamp', aspectRatio: '1024x1024' });
    expect(text.view.status).toBe('succeeded');
    expect(text.view.images).toHaveLength(1);

    const safeProduct = await uploadProduct(tenant.secretKey, [40, 120, 200]);
    const safe = await generate(tenant.secretKey, {
      prompt: 'on a marble counter',
      mode: 'background',
      inputImageId: safeProduct,
    });
    expect(safe.view.status).toBe('succeeded');
    expect(safe.view.images[0]).toMatchObject({ productFidelity: 0 });
    const files = await storedFiles(tenant.tenantId);
    for (const { id } of [...text.view.images, ...safe.view.images]) expect(files.some((file) => file.includes(id))).toBe(true);
    expect((await balanceOf(tenant.secretKey)).available).toBe(
      before.available - text.view.cost.credits - safe.view.cost.credits,
    );

    // 1 refuses nothing: the planted image is delivered to a tenant that allows everything.
    const config = await server.api(tenant.secretKey, '/v1/config', {
      method: 'PUT',
      body: { contentPolicy: { nsfwThreshold: 1 } },
    });
    expect(config.status).toBe(200);
    const planted = await uploadProduct(tenant.secretKey, [255, 0, 255]);
    const allowed = await generate(tenant.secretKey, {
      prompt: 'on a marble counter',
      mode: 'background',
      inputImageId: planted,
    });
    expect(allowed.view.status).toBe('succeeded');
    expect(allowed.view.images).toHaveLength(1);
  });
});
