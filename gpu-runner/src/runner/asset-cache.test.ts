import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunnerAsset } from '@atelier/protocol';
import { startTestServer, type TestServer } from '@atelier/testing';
import { AssetCache } from './asset-cache.js';

let server: TestServer;
let tenantId: string;
let dir: string;
let asset: RunnerAsset;
let bytes: Buffer;

beforeAll(async () => {
  server = await startTestServer();
  const tenant = await server.createTenant();
  tenantId = tenant.tenantId;
  dir = await mkdtemp(join(tmpdir(), 'atelier-asset-cache-'));
  bytes = await sharp({ create: { width: 64, height: 64, channels: 4, background: '#c08040' } })
    .png()
    .toBuffer();
  const response = await fetch(`${server.url}/v1/uploads`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${tenant.secretKey}`, 'Content-Type': 'image/png' },
    body: bytes,
  });
  const { id } = (await response.json()) as { id: string };
  asset = {
    kind: 'input',
    id,
    url: server.services.signer.assetUrl(tenantId, id),
    sha256: createHash('sha256').update(bytes).digest('hex'),
    bytes: bytes.length,
  };
});

afterAll(async () => {
  await server?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('AssetCache', () => {
  it('fetches a job asset from its signed URL, verifies it and keeps it under its hash', async () => {
    const cache = new AssetCache(dir);
    const [local] = await cache.fetchAll([asset]);
    expect(local).toMatchObject({ kind: 'input', id: asset.id, path: join(dir, asset.sha256) });
    expect((await readFile(local!.path)).equals(bytes)).toBe(true);
    // Cached: a URL that no longer works is not even asked.
    const again = await cache.fetch({ ...asset, url: `${server.url}/v1/assets/${tenantId}/${asset.id}?expires=1&signature=x` });
    expect(again).toBe(local!.path);
  });

  it('refuses bytes that do not match the offer, leaving nothing behind', async () => {
    const wrong = new AssetCache(join(dir, 'mismatch'));
    const sha256 = createHash('sha256').update('something else').digest('hex');
    await expect(wrong.fetch({ ...asset, sha256 })).rejects.toMatchObject({ code: 'unavailable', message: /does not match/ });
    await expect(wrong.fetch({ ...asset, sha256, bytes: 10 })).rejects.toMatchObject({ message: /larger than its 10 bytes/ });
    expect(await readdir(join(dir, 'mismatch'))).toEqual([]);
  });

  it('reports a refused URL as retryable', async () => {
    const cache = new AssetCache(join(dir, 'refused'));
    const url = new URL(asset.url);
    url.searchParams.set('signature', 'forged');
    await expect(cache.fetch({ ...asset, url: url.toString() })).rejects.toMatchObject({
      code: 'unavailable',
      retryable: true,
      message: /HTTP 403/,
    });
  });
});
