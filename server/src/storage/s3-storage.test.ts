import { describe } from 'vitest';
import { startS3Server, storageContract } from '@atelier/testing';
import { S3Storage } from './s3-storage.js';

// The SDK warns once per process on Node 20 that later SDK releases will want Node 22;
// the package engines say Node 20, and a test prints nothing.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

// A real S3 server (gofakes3, built once from its Go module) when this machine can build
// and start one; otherwise the suite is skipped and says why, once.
const started = await startS3Server();
if (!started.ok) console.warn(`S3Storage contract skipped: ${started.reason}`);

describe.skipIf(!started.ok)('S3Storage against a real S3 server', () => {
  if (!started.ok) return;
  const { server } = started;
  storageContract('S3Storage', ({ listPageSize }) => {
    const storage = new S3Storage({
      bucket: server.bucket,
      listPageSize,
      client: { endpoint: server.endpoint, region: server.region, forcePathStyle: true, credentials: server.credentials },
    });
    return Promise.resolve({
      storage,
      close: async () => {
        storage.destroy();
        await server.stop();
      },
    });
  });
});
