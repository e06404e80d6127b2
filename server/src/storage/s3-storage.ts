import { Readable } from 'node:stream';
import {
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { createLogger } from '../logging/logger.js';
import {
  assertValidKey,
  assertValidPrefix,
  assertValidRange,
  type ByteRange,
  type Storage,
  type StoredObject,
} from './storage.js';

const log = createLogger('s3-storage');

/** The most keys one ListObjectsV2 page and one DeleteObjects request may hold. */
const S3_PAGE_LIMIT = 1000;

export interface S3StorageOptions {
  bucket: string;
  /**
   * Region, endpoint, credentials. Credentials left out come from the SDK's default chain
   * (`AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY` / `AWS_SESSION_TOKEN`, shared config
   * files, instance or task roles), so no secret needs to pass through our config.
   */
  client: S3ClientConfig;
  /** Keys per listing page while deleting a prefix: S3's maximum unless a test wants pages small. */
  listPageSize?: number;
}

/**
 * Files as objects in one S3 (or S3-compatible) bucket, under the same keys the
 * filesystem adapter uses as paths.
 */
export class S3Storage implements Storage {
  private readonly client: S3Client;
  private readonly bucket: string;
  private readonly listPageSize: number;

  constructor(options: S3StorageOptions) {
    this.bucket = options.bucket;
    // An S3-compatible server (an endpoint of its own) gets checksums only where the API
    // demands them: since 2025 the SDK adds CRC32 to every upload and checks it on every
    // download, which not every such server speaks alike (one answers a ranged GET with
    // the whole object's checksum, which the SDK then refuses).
    this.client = new S3Client(
      options.client.endpoint
        ? { requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED', ...options.client }
        : options.client,
    );
    this.listPageSize = options.listPageSize ?? S3_PAGE_LIMIT;
    if (!Number.isInteger(this.listPageSize) || this.listPageSize < 1 || this.listPageSize > S3_PAGE_LIMIT) {
      throw new RangeError(`listPageSize must be 1 to ${S3_PAGE_LIMIT}`);
    }
  }

  async put(key: string, bytes: Uint8Array, contentType: string): Promise<void> {
    assertValidKey(key);
    await this.client.send(
      new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: bytes, ContentType: contentType, ContentLength: bytes.length }),
    );
  }

  async read(key: string, range?: ByteRange): Promise<StoredObject | undefined> {
    assertValidKey(key);
    if (range) assertValidRange(range);
    let response;
    try {
      response = await this.client.send(
        new GetObjectCommand({
          Bucket: this.bucket,
          Key: key,
          ...(range && { Range: `bytes=${range.start}-${range.end}` }),
        }),
      );
    } catch (error) {
      const status = statusOf(error);
      if (status === 404) return undefined;
      if (status === 416) {
        throw new RangeError(`byte range ${range?.start}-${range?.end} starts past the end of ${key}`, { cause: error });
      }
      throw error;
    }
    if (!(response.Body instanceof Readable)) throw new Error(`S3 answered GET ${key} without a body stream`);
    const stream = response.Body;
    const length = response.ContentLength ?? 0;
    if (!range) return { stream, size: length, range: { start: 0, end: length - 1 } };
    // `bytes <start>-<end>/<size>`: a ranged answer tells the whole size only here.
    const match = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(response.ContentRange ?? '');
    if (!match) {
      stream.destroy();
      throw new Error(`S3 answered a ranged GET of ${key} without a usable Content-Range (${response.ContentRange})`);
    }
    return { stream, size: Number(match[3]), range: { start: Number(match[1]), end: Number(match[2]) } };
  }

  async delete(key: string): Promise<void> {
    assertValidKey(key);
    await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }));
  }

  async deletePrefix(prefix: string): Promise<number> {
    assertValidPrefix(prefix);
    let deleted = 0;
    let continuationToken: string | undefined;
    // A listing answers at most a page of keys (1000 on S3), so a tenant with more files
    // takes several rounds; each page is deleted in one request before the next is read.
    do {
      const page = await this.client.send(
        new ListObjectsV2Command({
          Bucket: this.bucket,
          Prefix: prefix,
          MaxKeys: this.listPageSize,
          ...(continuationToken && { ContinuationToken: continuationToken }),
        }),
      );
      const keys = (page.Contents ?? []).flatMap((object) => (object.Key ? [{ Key: object.Key }] : []));
      if (keys.length > 0) {
        const result = await this.client.send(
          new DeleteObjectsCommand({ Bucket: this.bucket, Delete: { Objects: keys, Quiet: true } }),
        );
        if (result.Errors && result.Errors.length > 0) {
          const [first] = result.Errors;
          log.error({ prefix, failed: result.Errors.length, key: first?.Key, code: first?.Code }, 'S3 refused to delete objects');
          throw new Error(
            `S3 could not delete ${result.Errors.length} object(s) under ${prefix}: ${first?.Code} ${first?.Message}`,
          );
        }
        deleted += keys.length;
      }
      continuationToken = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (continuationToken);
    return deleted;
  }

  /** Closes the client's connections (tests; a server keeps its client for its lifetime). */
  destroy(): void {
    this.client.destroy();
  }
}

function statusOf(error: unknown): number | undefined {
  return error instanceof S3ServiceException ? error.$metadata.httpStatusCode : undefined;
}
