import { request } from 'node:http';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '@atelier/testing';

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer();
});

afterAll(async () => {
  await server.close();
});

interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** A GET that leaves the body as sent (fetch would decode it). */
function get(path: string, headers: Record<string, string> = {}): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    request(new URL(path, server.url), { headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
    })
      .on('error', reject)
      .end();
  });
}

const studioName = (loader: string) => /\.\/(atelier-studio\.\w+\.js)/.exec(loader)?.[1];

describe('the widget files', () => {
  it('serves the loader compressed by Accept-Encoding, short-cached, with CORS and an ETag', async () => {
    const plain = await get('/widget.js', { 'Accept-Encoding': 'identity' });
    expect(plain.status).toBe(200);
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect(plain.headers).toMatchObject({
      'content-type': 'text/javascript; charset=utf-8',
      'cache-control': 'public, max-age=300, stale-while-revalidate=86400',
      'access-control-allow-origin': '*',
      vary: 'Accept-Encoding',
    });
    expect(studioName(plain.body.toString())).toBeDefined();

    const br = await get('/widget.js', { 'Accept-Encoding': 'gzip, deflate, br' });
    expect(br.headers['content-encoding']).toBe('br');
    expect(brotliDecompressSync(br.body).equals(plain.body)).toBe(true);
    const gzip = await get('/widget.js', { 'Accept-Encoding': 'gzip' });
    expect(gzip.headers['content-encoding']).toBe('gzip');
    expect(gunzipSync(gzip.body).equals(plain.body)).toBe(true);

    const etag = String(plain.headers.etag);
    expect((await get('/widget.js', { 'If-None-Match': etag })).status).toBe(304);
  });

  it('serves the studio the loader names for a year, immutable, and nothing else by that pattern', async () => {
    const loader = (await get('/widget.js')).body.toString();
    const name = studioName(loader)!;
    const studio = await get(`/${name}`, { 'Accept-Encoding': 'br' });
    expect(studio.status).toBe(200);
    expect(studio.headers).toMatchObject({ 'cache-control': 'public, max-age=31536000, immutable', 'content-encoding': 'br' });
    // The studio is the module that defines the element.
    expect(brotliDecompressSync(studio.body).toString()).toContain('atelier-studio');

    const missing = await get('/atelier-studio.0000000000.js');
    expect(missing.status).toBe(404);
    expect(missing.headers['content-type']).toMatch(/^application\/problem\+json/);
    for (const path of ['/atelier-studio.js', '/loader.js', '/%2e%2e%2fpackage.json', '/atelier-studio.js.map']) {
      expect((await get(path)).status, path).toBe(404);
    }
  });
});
