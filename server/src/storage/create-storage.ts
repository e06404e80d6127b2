import { join } from 'node:path';
import { FileStorage } from './file-storage.js';
import { S3Storage } from './s3-storage.js';
import type { Storage } from './storage.js';
import type { StorageConfig } from './storage-config.js';

/** The configured storage; the server and the CLI build it here, so both see the same files. */
export function createStorage(config: StorageConfig, dataDir: string): Storage {
  if (config.kind === 'filesystem') return new FileStorage(join(dataDir, 'files'));
  return new S3Storage({
    bucket: config.bucket,
    // Path-style (`<endpoint>/<bucket>/<key>`) for S3-compatible services, which seldom
    // have a DNS name per bucket; AWS itself gets its virtual-hosted default.
    client: {
      region: config.region,
      ...(config.endpoint !== undefined && { endpoint: config.endpoint, forcePathStyle: true }),
    },
  });
}
