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
}

const KEY = /^tenants\/[A-Za-z0-9_-]+\/(?:[A-Za-z0-9_.-]+\/)*[A-Za-z0-9_-][A-Za-z0-9_.-]*$/;

export function tenantKey(tenantId: string, ...parts: string[]): string {
  const key = ['tenants', tenantId, ...parts].join('/');
  assertValidKey(key);
  return key;
}

export function assertValidKey(key: string): void {
  if (!KEY.test(key) || key.split('/').some((part) => part === '.' || part === '..')) {
    throw new Error(`invalid storage key: ${key}`);
  }
}
