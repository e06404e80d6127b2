import type { Readable } from 'node:stream';

/** Inclusive byte offsets, as HTTP's `Range` and `Content-Range` write them. */
export interface ByteRange {
  start: number;
  end: number;
}

/** An object being read: its bytes (all of them, or the range asked for) and its whole size. */
export interface StoredObject {
  stream: Readable;
  /** The whole object's size in bytes, whatever range was read. */
  size: number;
  /** The bytes `stream` holds: the range asked for with its end clamped to the object, or all of it. */
  range: ByteRange;
}

/**
 * Where generated and uploaded files live. Keys always start with
 * `tenants/<tenantId>/`, so one tenant's files can never be addressed through
 * another tenant's prefix. The filesystem adapter is the default; the S3 adapter
 * implements the same contract (testing/src/storage-contract.ts runs against both).
 */
export interface Storage {
  put(key: string, bytes: Uint8Array, contentType: string): Promise<void>;
  /**
   * Undefined when there is no such object. A range must start inside the object (the
   * caller resolves `Range` headers against the size it knows); one that starts at or
   * past its end is a RangeError, and so is any range of an empty object.
   */
  read(key: string, range?: ByteRange): Promise<StoredObject | undefined>;
  /** Deleting what is not there is not an error. */
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

export function assertValidRange(range: ByteRange): void {
  if (!Number.isSafeInteger(range.start) || !Number.isSafeInteger(range.end) || range.start < 0 || range.end < range.start) {
    throw new RangeError(`invalid byte range: ${range.start}-${range.end}`);
  }
}

/** The range a read of `size` bytes holds: `range` with its end clamped, or the whole object. */
export function resolveRange(size: number, range: ByteRange | undefined): ByteRange {
  if (!range) return { start: 0, end: size - 1 };
  if (range.start >= size) throw new RangeError(`byte range ${range.start}-${range.end} starts past the end (${size} bytes)`);
  return { start: range.start, end: Math.min(range.end, size - 1) };
}
