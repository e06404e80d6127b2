import { access } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import {
  TEST_ADMIN_TOKEN,
  completeJob,
  connectRunner,
  createGeneration,
  pngBytes,
  readJob,
  startS3Server,
  startTestServer,
  storageContract,
  viewGeneration,
} from '@atelier/testing';
import { S3Storage } from './s3-storage.js';

// The SDK warns once per process on Node 20 that later SDK releases will want Node 22;
// the package engines say Node 20, and a test prints nothing.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

// A real S3 server (gofakes3, built once from its Go module) when this machine can build
// and start one; otherwise the suites are skipped and say why, once.
const started = await startS3Server();
if (!started.ok) console.warn(`S3Storage contract skipped: ${started.reason}`);

afterAll(async () => {
  if (started.ok) await started.server.stop();
});

describe.skipIf(!started.ok)('S3Storage against a real S3 server', () => {
  if (!started.ok) return;
  const { server: s3 } = started;
  const client = { endpoint: s3.endpoint, region: s3.region, forcePathStyle: true, credentials: s3.credentials };

  storageContract('S3Storage', ({ listPageSize }) => {
    const storage = new S3Storage({ bucket: s3.bucket, listPageSize, client });
    return Promise.resolve({ storage, close: () => Promise.resolve(storage.destroy()) });
  });

  it('is what the server stores in with ATELIER_STORAGE=s3: images land in the bucket, are served in ranges, and go with their tenant', async () => {
    // The server's adapter takes credentials from the SDK's chain, as in production.
    process.env.AWS_ACCESS_KEY_ID = s3.credentials.accessKeyId;
    process.env.AWS_SECRET_ACCESS_KEY = s3.credentials.secretAccessKey;
    const server = await startTestServer({
      ATELIER_STORAGE: 's3',
      ATELIER_S3_BUCKET: s3.bucket,
      ATELIER_S3_ENDPOINT: s3.endpoint,
      ATELIER_S3_REGION: s3.region,
    });
    const runner = await connectRunner(server.url, await server.createRunnerToken());
    const bucket = new S3Storage({ bucket: s3.bucket, client });
    try {
      const { tenantId, secretKey } = await server.createTenant({ name: 'Acme' });
      const id = await createGeneration(server, secretKey);
      runner.send({ type: 'ready' });
      const job = await runner.receive('job', (message) => message.jobId === id);
      const bytes = await pngBytes(30, 60, 90);
      completeJob(runner, job, [bytes]);
      await vi.waitFor(async () => expect((await readJob(server, id)).status).toBe('succeeded'));

      const { storageKey } = (await readJob(server, id)).images[0]!;
      expect((await bucket.read(storageKey))?.size).toBe(bytes.length);
      await expect(access(join(server.dataDir, 'files'))).rejects.toMatchObject({ code: 'ENOENT' });

      const [image] = (await viewGeneration(server, secretKey, id)).images;
      const part = await fetch(image!.url, { headers: { Range: 'bytes=-16' } });
      expect(part.status).toBe(206);
      expect(part.headers.get('content-range')).toBe(`bytes ${bytes.length - 16}-${bytes.length - 1}/${bytes.length}`);
      expect(Buffer.from(await part.arrayBuffer()).equals(bytes.subarray(bytes.length - 16))).toBe(true);

      const deleted = await fetch(new URL(`/admin/v1/tenants/${tenantId}`, server.url), {
        method: 'DELETE',
        headers: { Authorization: `Bearer ${TEST_ADMIN_TOKEN}` },
      });
      expect(deleted.status).toBe(200);
      expect(await deleted.json()).toMatchObject({ status: 'deleted', files: 1 });
      expect(await bucket.read(storageKey)).toBeUndefined();
    } finally {
      bucket.destroy();
      await runner.close();
      await server.stop();
    }
  });
});
