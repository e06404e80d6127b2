import { readFile, stat } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LoraInfo } from '@atelier/protocol';
import { createGeneration, expectProblem, readJob, safetensorsFile, startTestServer, type TestServer } from '@atelier/testing';

type Tenant = { tenantId: string; secretKey: string; publishableKey: string };

let server: TestServer;
let acme: Tenant;
let globex: Tenant;

beforeAll(async () => {
  server = await startTestServer();
  acme = await server.createTenant({ name: 'Acme' });
  globex = await server.createTenant({ name: 'Globex' });
});

afterAll(() => server.stop());

const safetensors = safetensorsFile;

const kohya = (seed: number) =>
  safetensors({
    'lora_unet_down_blocks_1_attentions_0_transformer_blocks_0_attn2_to_q.lora_down.weight': { shape: [1, 2], values: [seed, 2] },
    'lora_unet_down_blocks_1_attentions_0_transformer_blocks_0_attn2_to_q.lora_up.weight': { shape: [2, 1], values: [3, 4] },
    'lora_unet_down_blocks_1_attentions_0_transformer_blocks_0_attn2_to_q.alpha': { shape: [], values: [1] },
    'lora_te2_text_model_encoder_layers_0_mlp_fc1.lora_down.weight': { shape: [1, 2], values: [5, 6] },
    'lora_te2_text_model_encoder_layers_0_mlp_fc1.lora_up.weight': { shape: [2, 1], values: [7, 8] },
  });

function upload(secretKey: string, body: Uint8Array, query = '', contentType = 'application/octet-stream') {
  return fetch(`${server.url}/v1/loras${query}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secretKey}`, 'content-type': contentType },
    body,
  });
}

async function uploaded(secretKey: string, body: Uint8Array, query = ''): Promise<LoraInfo> {
  const response = await upload(secretKey, body, query);
  expect(response.status).toBe(201);
  return (await response.json()) as LoraInfo;
}

const list = async (secretKey: string) => {
  const response = await server.api(secretKey, '/v1/loras');
  expect(response.status).toBe(200);
  return ((await response.json()) as { data: LoraInfo[] }).data;
};

describe('/v1/loras', () => {
  it("stores a tenant's LoRA under its prefix, lists it only to that tenant, and finds the same bytes again", async () => {
    const bytes = kohya(1);
    const lora = await uploaded(acme.secretKey, bytes, '?name=Studio%20marble');
    expect(lora).toMatchObject({
      id: expect.stringMatching(/^lra_/),
      name: 'Studio marble',
      bytes: bytes.length,
      layers: { unet: 1, text_encoder: 0, text_encoder_2: 1 },
    });
    const file = join(server.dataDir, 'files', 'tenants', acme.tenantId, 'loras', `${lora.id}.safetensors`);
    expect((await readFile(file)).equals(bytes)).toBe(true);
    expect(lora.sha256).toBe((await import('node:crypto')).createHash('sha256').update(bytes).digest('hex'));

    const again = await upload(acme.secretKey, bytes);
    expect(again.status).toBe(200);
    expect(((await again.json()) as LoraInfo).id).toBe(lora.id);
    expect((await list(acme.secretKey)).map((l) => l.id)).toEqual([lora.id]);
    expect(await list(globex.secretKey)).toEqual([]);
  });

  it("applies a tenant's LoRA to its own jobs only: another tenant naming its id gets not_found", async () => {
    const lora = await uploaded(acme.secretKey, kohya(2));
    const own = await createGeneration(server, acme.secretKey, {
      prompt: 'a walnut desk lamp',
      loras: [{ id: lora.id, weight: 0.8 }],
    });
    expect((await readJob(server, own)).resolved.loras).toEqual([{ id: lora.id, weight: 0.8 }]);

    const stolen = await server.api(globex.secretKey, '/v1/generations', {
      body: { prompt: 'a walnut desk lamp', loras: [{ id: lora.id, weight: 0.8 }] },
    });
    const problem = await expectProblem(stolen, 404, 'not_found');
    expect(problem.detail).toBe(`LoRA "${lora.id}" was not found.`);
    // Nor can it delete it.
    await expectProblem(await server.api(globex.secretKey, `/v1/loras/${lora.id}`, { method: 'DELETE' }), 404, 'not_found');
    expect((await list(acme.secretKey)).map((l) => l.id)).toContain(lora.id);
  });

  it("takes LoRAs with the fast presets too: the runner merges them into the preset's distilled UNet", async () => {
    const lora = await uploaded(acme.secretKey, kohya(6));
    for (const performance of ['extreme-speed', 'lightning']) {
      const accepted = await server.api(acme.secretKey, '/v1/generations', {
        body: { prompt: 'a lamp', performance, loras: [{ id: lora.id, weight: 1 }] },
      });
      expect(accepted.status, await accepted.clone().text()).toBe(202);
      const { id } = (await accepted.json()) as { id: string };
      expect((await readJob(server, id)).resolved).toMatchObject({ performance, loras: [{ id: lora.id, weight: 1 }] });
    }
  });

  it('deletes a LoRA and its file; a deleted LoRA can no longer be named', async () => {
    const lora = await uploaded(acme.secretKey, kohya(3));
    const file = join(server.dataDir, 'files', 'tenants', acme.tenantId, 'loras', `${lora.id}.safetensors`);
    const response = await server.api(acme.secretKey, `/v1/loras/${lora.id}`, { method: 'DELETE' });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ id: lora.id, deleted: true });
    await expect(stat(file)).rejects.toMatchObject({ code: 'ENOENT' });
    await expectProblem(
      await server.api(acme.secretKey, '/v1/generations', { body: { prompt: 'a lamp', loras: [{ id: lora.id, weight: 1 }] } }),
      404,
      'not_found',
    );
  });

  it('refuses files that are not LoRAs a runner can read, naming what is wrong, and stores nothing', async () => {
    const before = await list(globex.secretKey);
    const cases: [Uint8Array, string][] = [
      [Buffer.from('not a safetensors file'), 'header length'],
      [
        safetensors({ 'model.diffusion_model.input_blocks.0.0.weight': { shape: [1], values: [1] } }),
        '"model.diffusion_model.input_blocks.0.0.weight" is not a kohya or diffusers LoRA key',
      ],
      [safetensors({ 'unet.conv_in.lora_A.weight': { shape: [1], values: [1] } }, 'I32'), '"unet.conv_in.lora_A.weight" is I32'],
      [kohya(4).subarray(0, -4), 'data section'],
      [safetensors({}), 'no tensors'],
    ];
    for (const [body, message] of cases) {
      const problem = await expectProblem(await upload(globex.secretKey, body), 400, 'invalid_request');
      expect(problem.detail).toContain(message);
    }
    await expectProblem(await upload(globex.secretKey, kohya(5), '', 'text/plain'), 415, 'unsupported_media_type');
    await expectProblem(await upload(globex.secretKey, kohya(5), '?name='), 400, 'invalid_request');
    expect(await list(globex.secretKey)).toEqual(before);
  });

  it('refuses an upload that declares more than the size limit before reading it', async () => {
    const limit = server.services.loras.limits.maxBytes;
    const { status, body } = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const url = new URL('/v1/loras', server.url);
      const request = httpRequest(url, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${globex.secretKey}`,
          'content-type': 'application/octet-stream',
          'content-length': String(limit + 1),
        },
      });
      request.on('response', (response) => {
        let text = '';
        response.on('data', (chunk: Buffer) => (text += chunk.toString()));
        response.on('end', () => {
          resolve({ status: response.statusCode ?? 0, body: text });
          request.destroy();
        });
      });
      request.on('error', reject);
      // A first kilobyte only: the answer must come without the rest.
      request.write(Buffer.alloc(1024));
    });
    expect(status).toBe(413);
    expect(JSON.parse(body)).toMatchObject({ code: 'payload_too_large' });
    expect(await list(globex.secretKey)).toEqual([]);
  });

  it('refuses an upload over the size limit while it streams', async () => {
    const limit = server.services.loras.limits.maxBytes;
    // Chunked (no Content-Length): the server counts as it reads and stops at the limit.
    const oversized = new ReadableStream<Uint8Array>({
      start(controller) {
        const chunk = new Uint8Array(8 * 1024 * 1024);
        for (let sent = 0; sent <= limit; sent += chunk.length) controller.enqueue(chunk);
        controller.close();
      },
    });
    const response = await fetch(`${server.url}/v1/loras`, {
      method: 'POST',
      headers: { authorization: `Bearer ${globex.secretKey}`, 'content-type': 'application/octet-stream' },
      body: oversized,
      duplex: 'half',
    }).catch((error: unknown) => error);
    // The server answers 413 before the body ends; the client may see the answer or a reset.
    if (response instanceof Response) await expectProblem(response, 413, 'payload_too_large');
    else expect(response).toBeInstanceOf(Error);
    expect(await list(globex.secretKey)).toEqual([]);
  });

  it('needs config:write to upload and config:read to list', async () => {
    const response = await server.api(acme.secretKey, '/v1/keys', { body: { label: 'reader', scopes: ['config:read'] } });
    const { key: secret } = (await response.json()) as { key: string };
    await expectProblem(await upload(secret, kohya(6)), 403, 'forbidden');
    expect(Array.isArray(await list(secret))).toBe(true);
  });
});
