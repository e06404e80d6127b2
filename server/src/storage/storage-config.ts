import { ConfigError, httpUrl, optional, type Env } from '@atelier/runtime';

/** Where the server keeps files: the data dir (the default) or an S3 bucket. */
export type StorageConfig =
  | { kind: 'filesystem' }
  | {
      kind: 's3';
      bucket: string;
      region: string;
      /** An S3-compatible service's URL (MinIO, R2, …), addressed path-style; unset: AWS itself. */
      endpoint: string | undefined;
    };

const STORAGE_KINDS = ['filesystem', 's3'] as const;
/** S3's own rule for bucket names: 3 to 63 of lower-case letters, digits, dots and hyphens. */
const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const REGION = /^[a-z0-9-]{2,32}$/;

/**
 * `ATELIER_STORAGE` and, for `s3`, its bucket, region and endpoint. Credentials are not
 * read here: the AWS SDK takes them from its own chain (`AWS_ACCESS_KEY_ID`,
 * `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`, shared config files, instance roles).
 */
export function storageConfig(env: Env): StorageConfig {
  const kind = optional(env, 'ATELIER_STORAGE') ?? 'filesystem';
  if (!(STORAGE_KINDS as readonly string[]).includes(kind)) {
    throw new ConfigError('ATELIER_STORAGE', `must be one of ${STORAGE_KINDS.join(', ')} (got "${kind}")`);
  }
  if (kind === 'filesystem') return { kind: 'filesystem' };
  const bucket = optional(env, 'ATELIER_S3_BUCKET');
  if (bucket === undefined) throw new ConfigError('ATELIER_S3_BUCKET', 'is required when ATELIER_STORAGE=s3');
  if (!BUCKET.test(bucket)) throw new ConfigError('ATELIER_S3_BUCKET', `is not a valid S3 bucket name (got "${bucket}")`);
  const region = optional(env, 'ATELIER_S3_REGION') ?? 'us-east-1';
  if (!REGION.test(region)) throw new ConfigError('ATELIER_S3_REGION', `is not a region name (got "${region}")`);
  return { kind: 's3', bucket, region, endpoint: httpUrl(env, 'ATELIER_S3_ENDPOINT') };
}
