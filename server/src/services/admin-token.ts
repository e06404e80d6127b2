import { randomBytes } from 'node:crypto';
import { link, mkdir, readFile, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export interface AdminToken {
  token: string;
  /** Where it is kept, when it was generated rather than configured. */
  path: string | undefined;
  /** True when this call generated it (the first start on this data dir). */
  created: boolean;
}

/** `<dataDir>/secrets/admin-token`. */
export function adminTokenPath(dataDir: string): string {
  return join(dataDir, 'secrets', 'admin-token');
}

/**
 * The operator's token: `ATELIER_ADMIN_TOKEN` when set; otherwise the one kept in
 * `<dataDir>/secrets/admin-token` (mode 0600), generated on first use. The file is
 * written beside its final name and hard-linked into place, which fails if the name
 * exists, so two processes starting at once on one data dir end up with the same token
 * and nobody reads a half-written file.
 */
export async function resolveAdminToken(configured: string | undefined, dataDir: string): Promise<AdminToken> {
  if (configured !== undefined) return { token: configured, path: undefined, created: false };
  const path = adminTokenPath(dataDir);
  const existing = await readToken(path);
  if (existing) return { token: existing, path, created: false };

  await mkdir(join(dataDir, 'secrets'), { recursive: true, mode: 0o700 });
  const token = randomBytes(32).toString('base64url');
  const staging = `${path}.${process.pid}.${randomBytes(4).toString('hex')}`;
  await writeFile(staging, `${token}\n`, { mode: 0o600 });
  try {
    await link(staging, path);
    return { token, path, created: true };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    const winner = await readToken(path);
    if (!winner) throw new Error(`${path} exists but holds no token: delete it or set ATELIER_ADMIN_TOKEN`, { cause: error });
    return { token: winner, path, created: false };
  } finally {
    await unlink(staging).catch(() => undefined);
  }
}

async function readToken(path: string): Promise<string | undefined> {
  try {
    const token = (await readFile(path, 'utf8')).trim();
    if (token.length < 16)
      throw new Error(`${path} holds no usable token (16+ characters): delete it or set ATELIER_ADMIN_TOKEN`);
    return token;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}
