import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, TEST_ADMIN_TOKEN, type TestServer } from '@atelier/testing';
import { runAsSystem } from '../tenancy/tenant-context.js';

let server: TestServer;
let acme: { tenantId: string; secretKey: string; publishableKey: string };
let globex: { tenantId: string; secretKey: string; publishableKey: string };

beforeAll(async () => {
  server = await startTestServer();
  acme = await server.createTenant({ name: 'Acme' });
  globex = await server.createTenant({ name: 'Globex' });
});

afterAll(() => server.stop());

const countJobs = () => runAsSystem('test: count', () => server.database.models.Generation.countDocuments());

async function expectProblem(response: Response, status: number, code: string): Promise<{ detail: string }> {
  expect(response.status).toBe(status);
  expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  const problem = (await response.json()) as { type: string; title: string; status: number; detail: string; code: string };
  expect(problem).toMatchObject({ status, code });
  expect(problem.type).toContain(code);
  expect(problem.title.length).toBeGreaterThan(0);
  return problem;
}

describe('POST /v1/generations', () => {
  it('accepts a job and answers 202 with id, status, queue and cost', async () => {
    const response = await server.api(acme.secretKey, '/v1/generations', {
      body: { prompt: 'a walnut desk lamp, morning light', aspectRatio: '1152x896', seed: 7 },
    });
    expect(response.status).toBe(202);
    const body = (await response.json()) as {
      id: string;
      status: string;
      queue: { position: number; etaSeconds: number | null };
      cost: { credits: number };
    };
    expect(body.id).toMatch(/^gen_/);
    expect(body.status).toBe('queued');
    expect(body.queue.position).toBeGreaterThanOrEqual(1);
    // No runner is connected, so nobody can promise a time.
    expect(body.queue.etaSeconds).toBeNull();
    expect(body.cost.credits).toBe(1);

    const read = await server.api(acme.secretKey, `/v1/generations/${body.id}`);
    expect(read.status).toBe(200);
    const view = (await read.json()) as {
      status: string;
      params: { prompt: string };
      progress: { steps: number };
      images: unknown[];
    };
    expect(view).toMatchObject({ status: 'queued', params: { prompt: 'a walnut desk lamp, morning light' }, images: [] });
    expect(view.progress.steps).toBe(30);
  });

  it.each([
    ['an empty prompt', { prompt: '   ' }, 'prompt'],
    ['a missing prompt', {}, 'prompt'],
    ['a 2,001-character prompt', { prompt: 'x'.repeat(2001) }, 'prompt'],
    ['an untrained resolution', { prompt: 'lamp', aspectRatio: '1000x1000' }, 'aspectRatio'],
    ['too many images', { prompt: 'lamp', imageCount: 5 }, 'imageCount'],
    ['an unknown field', { prompt: 'lamp', negative_prompt: 'blur' }, 'negative_prompt'],
    ['an operator object', { prompt: { $gt: '' } }, 'prompt.$gt: operator keys'],
    ['a mode not built yet', { prompt: 'lamp', mode: 'upscale' }, 'mode'],
  ])('refuses %s with a 400 naming the field, and creates nothing', async (_label, body, field) => {
    const before = await countJobs();
    const problem = await expectProblem(await server.api(acme.secretKey, '/v1/generations', { body }), 400, 'invalid_request');
    expect(problem.detail).toContain(field);
    expect(await countJobs()).toBe(before);
  });

  it.each([
    ['a number', { prompt: 42 }],
    ['an array', { prompt: ['lamp'] }],
  ])('says prompt must be a string when it is %s', async (_label, body) => {
    const before = await countJobs();
    const problem = await expectProblem(await server.api(acme.secretKey, '/v1/generations', { body }), 400, 'invalid_request');
    expect(problem.detail).toBe('prompt must be a string');
    expect(await countJobs()).toBe(before);
  });

  it.each([
    ['a string', '"x"', 'a string'],
    ['null', 'null', 'null'],
    ['an array', '[]', 'an array'],
    ['a number', '7', 'a number'],
  ])('refuses a body that is valid JSON but %s as not an object', async (_label, body, got) => {
    const before = await countJobs();
    const problem = await expectProblem(await server.api(acme.secretKey, '/v1/generations', { body }), 400, 'invalid_request');
    expect(problem.detail).toBe(`The request body must be a JSON object (got ${got}).`);
    expect(await countJobs()).toBe(before);
  });

  it("asks the runner for the tenant's output format and quality, with the provenance to embed (the prompt only on opt-in)", async () => {
    const resolvedOf = async (secretKey: string, prompt: string) => {
      const { id } = (await (await server.api(secretKey, '/v1/generations', { body: { prompt } })).json()) as { id: string };
      const job = await runAsSystem('test: read job', () => server.database.models.Generation.findById(id).lean());
      return { id, resolved: job!.resolved };
    };
    const plain = await resolvedOf(acme.secretKey, 'a teak stool');
    expect(plain.resolved).toMatchObject({ outputFormat: 'webp', outputQuality: 90 });
    expect(plain.resolved.provenance).toEqual({ jobId: plain.id, tenantName: 'Acme' });

    const config = await server.api(globex.secretKey, '/v1/config', {
      method: 'PUT',
      body: { output: { format: 'jpeg', quality: 70, embedPrompt: true } },
    });
    expect(config.status).toBe(200);
    const opted = await resolvedOf(globex.secretKey, 'a rattan chair');
    expect(opted.resolved).toMatchObject({ outputFormat: 'jpeg', outputQuality: 70 });
    expect(opted.resolved.provenance).toEqual({ jobId: opted.id, tenantName: 'Globex', prompt: 'a rattan chair' });
    await server.api(globex.secretKey, '/v1/config', { method: 'PUT', body: { output: null } });
  });

  it("asks for the tenant's watermark: always on a plan that forces it, in the tenant's style when it has one", async () => {
    const watermarkOf = async (secretKey: string) => {
      const { id } = (await (await server.api(secretKey, '/v1/generations', { body: { prompt: 'a linen throw' } })).json()) as {
        id: string;
      };
      const job = await runAsSystem('test: read job', () => server.database.models.Generation.findById(id).lean());
      return job!.resolved.watermark;
    };
    const free = await server.createTenant({ name: 'Free Shop', plan: 'free' });
    expect(await watermarkOf(free.secretKey)).toEqual({ text: 'Free Shop', position: 'bottom-right', opacity: 0.5, scale: 0.04 });

    const pro = await server.createTenant({ name: 'Pro Shop', plan: 'pro' });
    expect(await watermarkOf(pro.secretKey)).toBeUndefined();
    const config = await server.api(pro.secretKey, '/v1/config', {
      method: 'PUT',
      body: { output: { watermark: true, watermarkStyle: { text: 'PRO SHOP ©', position: 'top-left', opacity: 0.8 } } },
    });
    expect(config.status).toBe(200);
    expect(await watermarkOf(pro.secretKey)).toEqual({ text: 'PRO SHOP ©', position: 'top-left', opacity: 0.8, scale: 0.04 });

    const invalid = await server.api(pro.secretKey, '/v1/config', {
      method: 'PUT',
      body: { output: { watermarkStyle: { opacity: 0, position: 'middle' } } },
    });
    expect(invalid.status).toBe(400);
    expect(((await invalid.json()) as { errors: { field: string }[] }).errors.map((error) => error.field).sort()).toEqual([
      'output.watermarkStyle.opacity',
      'output.watermarkStyle.position',
    ]);
  });

  it('refuses an unsupported Content-Encoding with 415', async () => {
    const before = await countJobs();
    const response = await server.api(acme.secretKey, '/v1/generations', {
      body: { prompt: 'lamp' },
      headers: { 'Content-Encoding': 'compress' },
    });
    const problem = await expectProblem(response, 415, 'unsupported_media_type');
    expect(problem.detail).toContain('Content-Encoding');
    expect(await countJobs()).toBe(before);
  });

  it('refuses malformed JSON with a problem, not a stack trace', async () => {
    await expectProblem(await server.api(acme.secretKey, '/v1/generations', { body: '{"prompt":' }), 400, 'invalid_request');
  });

  it('refuses a wrong, malformed or missing key with 401 and creates nothing', async () => {
    const before = await countJobs();
    const wrong = `sk_test_${'A'.repeat(43)}`;
    for (const key of [wrong, 'nope', acme.publishableKey]) {
      await expectProblem(await server.api(key, '/v1/generations', { body: { prompt: 'lamp' } }), 401, 'unauthorized');
    }
    const anonymous = await fetch(new URL('/v1/generations', server.url), { method: 'POST', body: '{}' });
    await expectProblem(anonymous, 401, 'unauthorized');
    expect(await countJobs()).toBe(before);
  });

  it.each([
    ['the query string', (key: string) => ({ path: `/v1/generations?access_token=${key}`, init: { body: { prompt: 'lamp' } } })],
    ['the request body', (key: string) => ({ path: '/v1/generations', init: { body: { prompt: 'lamp', access_token: key } } })],
  ])('refuses a secret key in %s, even beside a valid header, and creates nothing', async (where, request) => {
    const before = await countJobs();
    const { path, init } = request(acme.secretKey);
    // Without the header: passport-http-bearer's defaults would have accepted this.
    const alone = await fetch(new URL(path, server.url), {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(init.body),
    });
    const problem = await expectProblem(alone, 401, 'unauthorized');
    expect(problem.detail).toContain(where);
    expect(problem.detail).toContain('Authorization: Bearer sk_');
    await expectProblem(await server.api(acme.secretKey, path, init), 401, 'unauthorized');
    expect(await countJobs()).toBe(before);
    // Nor does it read anything.
    await expectProblem(await fetch(new URL(`/v1/generations?access_token=${acme.secretKey}`, server.url)), 401, 'unauthorized');
  });

  it("answers not_found, never forbidden, for another tenant's generation", async () => {
    const created = (await (await server.api(acme.secretKey, '/v1/generations', { body: { prompt: 'lamp' } })).json()) as {
      id: string;
    };
    await expectProblem(await server.api(globex.secretKey, `/v1/generations/${created.id}`), 404, 'not_found');
    await expectProblem(
      await server.api(globex.secretKey, `/v1/generations/${created.id}/cancel`, { method: 'POST' }),
      404,
      'not_found',
    );
    const globexList = (await (await server.api(globex.secretKey, '/v1/generations')).json()) as { data: { id: string }[] };
    expect(globexList.data.map((g) => g.id)).not.toContain(created.id);
  });

  it('honours Idempotency-Key: same body → same job, different body → 409', async () => {
    const headers = { 'Idempotency-Key': `order-${Date.now()}` };
    const first = await server.api(acme.secretKey, '/v1/generations', { body: { prompt: 'lamp', seed: 1 }, headers });
    const again = await server.api(acme.secretKey, '/v1/generations', { body: { seed: 1, prompt: 'lamp' }, headers });
    expect(first.status).toBe(202);
    expect(again.status).toBe(202);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(((await again.json()) as { id: string }).id).toBe(((await first.json()) as { id: string }).id);

    const before = await countJobs();
    const changed = await server.api(acme.secretKey, '/v1/generations', { body: { prompt: 'chair' }, headers });
    await expectProblem(changed, 409, 'conflict');
    // Another tenant may use the same key independently.
    expect((await server.api(globex.secretKey, '/v1/generations', { body: { prompt: 'chair' }, headers })).status).toBe(202);
    expect(await countJobs()).toBe(before + 1);
  });

  it('lists newest first with a cursor, and cancels a queued job', async () => {
    const ids: string[] = [];
    for (const prompt of ['one', 'two', 'three']) {
      ids.push(
        ((await (await server.api(globex.secretKey, '/v1/generations', { body: { prompt } })).json()) as { id: string }).id,
      );
    }
    const page1 = (await (await server.api(globex.secretKey, '/v1/generations?limit=2')).json()) as {
      data: { id: string }[];
      nextCursor: string;
    };
    expect(page1.data.map((g) => g.id)).toEqual([ids[2], ids[1]]);
    const page2 = (await (await server.api(globex.secretKey, `/v1/generations?limit=2&cursor=${page1.nextCursor}`)).json()) as {
      data: { id: string }[];
    };
    expect(page2.data[0]?.id).toBe(ids[0]);

    const canceled = await server.api(globex.secretKey, `/v1/generations/${ids[0]}/cancel`, { method: 'POST' });
    expect(((await canceled.json()) as { status: string }).status).toBe('canceled');
    await expectProblem(
      await server.api(globex.secretKey, `/v1/generations/${ids[0]}/cancel`, { method: 'POST' }),
      409,
      'conflict',
    );
  });
});

describe('admin API', () => {
  it('creates tenants whose keys work, and shows the secret only once', async () => {
    const response = await server.admin('/admin/v1/tenants', {
      name: 'Initech',
      plan: 'starter',
      origins: ['https://initech.example'],
    });
    expect(response.status).toBe(201);
    const created = (await response.json()) as { tenantId: string; secretKey: string; publishableKey: string };
    expect(created.secretKey).toMatch(/^sk_test_/);
    expect(created.publishableKey).toMatch(/^pk_test_/);
    const list = await (await server.admin('/admin/v1/tenants')).text();
    expect(list).toContain(created.tenantId);
    expect(list).not.toContain(created.secretKey);
    const stored = await runAsSystem('test: keys', () =>
      server.database.models.ApiKey.find({ tenantId: created.tenantId }).lean(),
    );
    expect(JSON.stringify(stored)).not.toContain(created.secretKey);
  });

  it.each([
    ['the query string', { path: `/admin/v1/tenants?access_token=${TEST_ADMIN_TOKEN}`, body: { name: 'Hooli', plan: 'pro' } }],
    ['the request body', { path: '/admin/v1/tenants', body: { name: 'Hooli', plan: 'pro', access_token: TEST_ADMIN_TOKEN } }],
  ])('refuses the admin token in %s, and creates nothing', async (where, { path, body }) => {
    const tenantsBefore = await (await server.admin('/admin/v1/tenants')).text();
    const response = await fetch(new URL(path, server.url), {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
    });
    const problem = await expectProblem(response, 401, 'unauthorized');
    expect(problem.detail).toContain(where);
    expect(problem.detail).toContain('Authorization: Bearer <ATELIER_ADMIN_TOKEN>');
    const read = await fetch(new URL(`/admin/v1/tenants?access_token=${TEST_ADMIN_TOKEN}`, server.url));
    await expectProblem(read, 401, 'unauthorized');
    expect(await (await server.admin('/admin/v1/tenants')).text()).toBe(tenantsBefore);
  });

  it('refuses bad tenant input and a wrong admin token', async () => {
    await expectProblem(
      await server.admin('/admin/v1/tenants', { name: '', plan: 'gold', origins: ['ftp://x'] }),
      400,
      'invalid_request',
    );
    const wrong = await fetch(new URL('/admin/v1/tenants', server.url), {
      headers: { Authorization: 'Bearer not-the-token-at-all' },
    });
    await expectProblem(wrong, 401, 'unauthorized');
  });
});
