import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { restartTestServer, startTestServer, type TestServer } from '@atelier/testing';
import { adminTokenPath, resolveAdminToken } from './admin-token.js';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function dataDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'atelier-admin-token-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

describe('resolveAdminToken', () => {
  it('generates a token once into <dataDir>/secrets/admin-token (0600) and reads it back afterwards', async () => {
    const dir = await dataDir();
    const first = await resolveAdminToken(undefined, dir);
    expect(first).toMatchObject({ path: adminTokenPath(dir), created: true });
    expect(first.token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect((await readFile(adminTokenPath(dir), 'utf8')).trim()).toBe(first.token);
    expect((await stat(adminTokenPath(dir))).mode & 0o777).toBe(0o600);
    expect((await stat(join(dir, 'secrets'))).mode & 0o777).toBe(0o700);
    expect(await resolveAdminToken(undefined, dir)).toEqual({ token: first.token, path: first.path, created: false });
  });

  it('gives every process starting at once on one data dir the same token', async () => {
    const dir = await dataDir();
    const all = await Promise.all(Array.from({ length: 8 }, () => resolveAdminToken(undefined, dir)));
    expect(new Set(all.map((a) => a.token)).size).toBe(1);
    expect(all.filter((a) => a.created)).toHaveLength(1);
  });

  it('uses ATELIER_ADMIN_TOKEN when set, and writes nothing', async () => {
    const dir = await dataDir();
    expect(await resolveAdminToken('configured-token-0123456789', dir)).toEqual({
      token: 'configured-token-0123456789',
      path: undefined,
      created: false,
    });
    await expect(stat(adminTokenPath(dir))).rejects.toMatchObject({ code: 'ENOENT' });
  });
});

describe('a server without ATELIER_ADMIN_TOKEN', () => {
  it('opens the admin API with the generated token, the same one after a restart', async () => {
    let server: TestServer = await startTestServer({ ATELIER_ADMIN_TOKEN: '' });
    cleanups.push(() => server.stop());
    const token = (await readFile(adminTokenPath(server.dataDir), 'utf8')).trim();
    expect(server.adminToken).toBe(token);
    const list = (bearer: string) =>
      fetch(new URL('/admin/v1/tenants', server.url), { headers: { Authorization: `Bearer ${bearer}` } });
    expect((await list(token)).status).toBe(200);
    expect((await list('test-admin-token-0123456789')).status).toBe(401);

    server = await restartTestServer(server, { ATELIER_ADMIN_TOKEN: '' });
    expect(server.adminToken).toBe(token);
    expect((await list(token)).status).toBe(200);
  });
});
