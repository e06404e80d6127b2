import type { Readable } from 'node:stream';

/**
 * Where generated and uploaded files live. Keys always start with
 * `tenants/<tenantId>/`, so one tenant's files can never be addressed through
 * another tenant's prefix; the filesystem adapter is the default, an S3-compatible
 * one can implement the same interface.
 */
export interface Storage {
  put(key: string, bytes: Uint8Array, contentType: string): Promise<void>;
  read(key: string): Promise<{ stream: Readable; size: number } | undefined>;
  delete(key: string): Promise<void>;
  /**
   * Deletes every file under a tenant's prefix (`tenants/<tenantId>/`) and answers how
   * many there were. Deleting a prefix that holds nothing is not an error.
   */
  deletePrefix(prefix: string): Promise<number>;
}

const KEY = /^tenants\/[A-Za-z0-9_-]+\/(?:[A-Za-z0-9_.-]+\/)*[A-Za-z0-9_-][A-Za-z0-9_.-]*$/;

export function tenantKey(tenantId: string, ...parts: string[]): string {
  const key = ['tenants', tenantId, ...parts].join('/');
  assertValidKey(key);
  return key;
}

/** The prefix of every key of one tenant. Nothing needs to exist there before the first file. */
export function tenantPrefix(tenantId: string): string {
  const prefix = `tenants/${tenantId}/`;
  assertValidPrefix(prefix);
  return prefix;
}

export function assertValidPrefix(prefix: string): void {
  if (!/^tenants\/[A-Za-z0-9_-]+\/$/.test(prefix)) throw new Error(`invalid storage prefix: ${prefix}`);
}

export function assertValidKey(key: string): void {
  if (!KEY.test(key) || key.split('/').some((part) => part === '.' || part === '..')) {
    throw new Error(`invalid storage key: ${key}`);
  }
}
