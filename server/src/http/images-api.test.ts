import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { REALTIME_PROTOCOL_VERSION, type GenerationListBody, type ImageBody } from '@atelier/protocol';
import {
  completeJob,
  connectRunner,
  createGeneration,
  expectProblem,
  openWidgetSocket,
  pngBytes,
  readJob,
  startTestServer,
  viewGeneration,
  type RunnerProbe,
  type TestServer,
  type WidgetProbe,
} from '@atelier/testing';
import { imageDeletionKey } from '../services/image-service.js';
import { runWithTenant } from '../tenancy/tenant-context.js';

const ORIGIN = 'https://acme.test';
const UNKNOWN_IMAGE = 'img_00000000000000000000';

type Tenant = { tenantId: string; secretKey: string; publishableKey: string };

let server: TestServer;
let runner: RunnerProbe;
let acme: Tenant;
let globex: Tenant;
const sockets: WidgetProbe[] = [];

beforeAll(async () => {
  server = await startTestServer();
  runner = await connectRunner(server.url, await server.createRunnerToken());
  acme = await server.createTenant({ name: 'Acme', origins: [ORIGIN] });
  globex = await server.createTenant({ name: 'Globex', origins: [ORIGIN] });
});

afterAll(async () => {
  await Promise.all(sockets.map((socket) => socket.close()));
  await runner.close();
  await server.stop();
});

/** A finished REST generation of `count` real PNGs (made on the runner); its id and the bytes of each image. */
async function apiImages(tenant: Tenant, count = 1): Promise<{ generationId: string; ids: string[]; bytes: Buffer[] }> {
  const generationId = await createGeneration(server, tenant.secretKey, { prompt: 'a walnut desk lamp', imageCount: count });
  const bytes = await Promise.all(Array.from({ length: count }, (_, index) => pngBytes(30 * index + 40, 90)));
  runner.send({ type: 'ready' });
  completeJob(runner, await runner.receive('job', (message) => message.jobId === generationId), bytes);
  await vi.waitFor(async () => expect((await readJob(server, generationId)).status).toBe('succeeded'));
  const { images } = await viewGeneration(server, tenant.secretKey, generationId);
  return { generationId, ids: images.map((image) => image.id), bytes };
}

/** A widget socket of A's, for a verified shopper when `shopper` is a session token. */
async function acmeWidget(shopper?: string): Promise<{ widget: WidgetProbe; session: string }> {
  const widget = await openWidgetSocket(server.url, acme.publishableKey, ORIGIN);
  sockets.push(widget);
  widget.send({ type: 'hello', v: REALTIME_PROTOCOL_VERSION, ...(shopper ? { shopper } : {}) });
  return { widget, session: (await widget.receive('welcome')).session };
}

async function shopperToken(shopperId: string): Promise<string> {
  const response = await server.api(acme.secretKey, '/v1/sessions', { body: { shopperId } });
  return ((await response.json()) as { token: string }).token;
}

const getImage = (key: string, id: string) => server.api(key, `/v1/images/${id}`);
const deleteImage = (key: string, id: string) => server.api(key, `/v1/images/${id}`, { method: 'DELETE' });

async function storageKeyOf(generationId: string, imageId: string): Promise<string> {
  return (await readJob(server, generationId)).images.find((image) => image._id === imageId)!.storageKey;
}

async function stored(storageKey: string): Promise<boolean> {
  const file = await server.services.storage.read(storageKey);
  file?.stream.destroy();
  return file !== undefined;
}

/** A's audit entries about one image. */
function auditOf(imageId: string) {
  return runWithTenant(acme.tenantId, () =>
    server.database.models.AuditEvent.find({ 'target.kind': 'image', 'target.id': imageId }).lean(),
  );
}

async function createKey(scopes: string[]): Promise<{ id: string; key: string }> {
  const response = await server.api(acme.secretKey, '/v1/keys', { body: { kind: 'secret', label: 'images test', scopes } });
  expect(response.status).toBe(201);
  return (await response.json()) as { id: string; key: string };
}

describe('GET /v1/images/:id', () => {
  it("answers an image's metadata with a signed URL that serves its bytes, as the generation's view lists it", async () => {
    const { generationId, ids, bytes } = await apiImages(acme, 2);
    const job = await readJob(server, generationId);
    const response = await getImage(acme.secretKey, ids[1]!);
    expect(response.status).toBe(200);
    const body = (await response.json()) as ImageBody;
    const stored = job.images.find((image) => image._id === ids[1])!;
    expect(body).toEqual({
      id: ids[1],
      generationId,
      index: 1,
      url: expect.stringMatching(new RegExp(`/v1/files/${acme.tenantId}/${ids[1]}\\.png\\?expires=\\d+&signature=`)) as string,
      width: stored.width,
      height: stored.height,
      format: 'png',
      seed: stored.seed,
      bytes: bytes[1]!.length,
      sha256: stored.sha256,
      shopperId: null,
      createdAt: job.finishedAt!.toISOString(),
    });
    const file = await fetch(body.url);
    expect(file.status).toBe(200);
    expect(Buffer.from(await file.arrayBuffer()).equals(bytes[1]!)).toBe(true);
    const listed = (await viewGeneration(server, acme.secretKey, generationId)).images[1]!;
    expect({ ...listed, url: new URL(listed.url).pathname }).toEqual({
      id: body.id,
      url: new URL(body.url).pathname,
      width: body.width,
      height: body.height,
      format: body.format,
    });
  });

  it("names a verified shopper's image's shopper, and signs its URL for that shopper as the view does", async () => {
    const { widget } = await acmeWidget(await shopperToken('shopper-42'));
    widget.send({ type: 'generate', ref: 'shopper-image', params: { prompt: 'a rattan chair' } });
    const { id } = await widget.receive('accepted');
    runner.send({ type: 'ready' });
    const bytes = await pngBytes(10, 200, 10);
    completeJob(runner, await runner.receive('job', (message) => message.jobId === id), [bytes]);
    const [image] = (await widget.receive('completed', (message) => message.id === id)).images;
    const body = (await (await getImage(acme.secretKey, image!.id)).json()) as ImageBody;
    expect(body).toMatchObject({ id: image!.id, generationId: id, shopperId: 'shopper-42' });
    expect(new URL(body.url).searchParams.get('shopper')).toBe('shopper-42');
    const file = await fetch(body.url);
    expect(Buffer.from(await file.arrayBuffer()).equals(bytes)).toBe(true);
  });

  it("is not_found for an unknown id and for another tenant's image, alike", async () => {
    const { ids } = await apiImages(globex);
    const foreign = await expectProblem(await getImage(acme.secretKey, ids[0]!), 404, 'not_found');
    const unknown = await expectProblem(await getImage(acme.secretKey, UNKNOWN_IMAGE), 404, 'not_found');
    expect(foreign.detail).toBe(unknown.detail);
    expect(JSON.stringify(foreign)).not.toContain(ids[0]);
    expect((await getImage(globex.secretKey, ids[0]!)).status).toBe(200);
  });
});

describe('DELETE /v1/images/:id', () => {
  it('removes the file and the entry: 204, then the image, its URL and its place in every view are gone', async () => {
    const { generationId, ids } = await apiImages(acme, 2);
    const [kept, doomed] = [ids[0]!, ids[1]!];
    const storageKey = await storageKeyOf(generationId, doomed);
    const { url } = (await (await getImage(acme.secretKey, doomed)).json()) as ImageBody;
    expect(await stored(storageKey)).toBe(true);

    const response = await deleteImage(acme.secretKey, doomed);
    expect(response.status).toBe(204);
    expect(await response.text()).toBe('');

    await expectProblem(await getImage(acme.secretKey, doomed), 404, 'not_found');
    await expectProblem(await fetch(url), 404, 'not_found');
    expect(await stored(storageKey)).toBe(false);
    const history = await runWithTenant(acme.tenantId, () => server.services.queue.history(generationId));
    expect(history.map((transition) => transition.kind)).toEqual(['claim', 'complete', 'remove-image']);
    expect(JSON.stringify(history)).not.toContain(doomed);
    expect(JSON.stringify(history)).toContain(kept);
    expect((await viewGeneration(server, acme.secretKey, generationId)).images.map((image) => image.id)).toEqual([kept]);
    const list = (await (await server.api(acme.secretKey, '/v1/generations?limit=100')).json()) as GenerationListBody;
    expect(list.data.find((g) => g.id === generationId)!.images.map((image) => image.id)).toEqual([kept]);
    // The other image of the same generation is untouched.
    expect((await fetch(((await (await getImage(acme.secretKey, kept)).json()) as ImageBody).url)).status).toBe(200);

    await expectProblem(await deleteImage(acme.secretKey, doomed), 404, 'not_found');
  });

  it("takes the image off the widget's view too: a watch of its generation no longer lists it", async () => {
    const { widget, session } = await acmeWidget();
    widget.send({ type: 'generate', ref: 'two-pictures', params: { prompt: 'a linen throw', imageCount: 2 } });
    const { id } = await widget.receive('accepted');
    runner.send({ type: 'ready' });
    const bytes = [await pngBytes(1), await pngBytes(2)];
    completeJob(runner, await runner.receive('job', (message) => message.jobId === id), bytes);
    const [first, second] = (await widget.receive('completed', (message) => message.id === id)).images;
    expect((await deleteImage(acme.secretKey, first!.id)).status).toBe(204);

    const { widget: later } = await acmeWidget();
    later.send({ type: 'watch', id, session });
    const snapshot = await later.receive('completed', (message) => message.id === id);
    expect(snapshot.images.map((image) => image.id)).toEqual([second!.id]);
  });

  it('records one data.deleted audit entry: the key that deleted it, the image, its generation, no prompt', async () => {
    const key = await createKey(['images:write']);
    const { generationId, ids } = await apiImages(acme);
    expect((await deleteImage(key.key, ids[0]!)).status).toBe(204);
    const entries = await auditOf(ids[0]!);
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({
      action: 'data.deleted',
      actor: { kind: 'key', id: key.id },
      target: { kind: 'image', id: ids[0] },
      details: { generationId },
    });
    expect(JSON.stringify(entries[0])).not.toContain('walnut');
  });

  it('needs images:write to delete and images:read to read (403 naming the scope), and changes nothing without it', async () => {
    const { generationId, ids } = await apiImages(acme);
    const reader = await createKey(['images:read']);
    const writer = await createKey(['images:write']);
    const refused = await expectProblem(await deleteImage(reader.key, ids[0]!), 403, 'forbidden');
    expect(refused.detail).toContain('images:write');
    const unread = await expectProblem(await getImage(writer.key, ids[0]!), 403, 'forbidden');
    expect(unread.detail).toContain('images:read');
    expect((await getImage(reader.key, ids[0]!)).status).toBe(200);
    expect(await stored(await storageKeyOf(generationId, ids[0]!))).toBe(true);
    expect(await auditOf(ids[0]!)).toEqual([]);
  });

  it("is not_found for another tenant's image, exactly as for an unknown one, and leaves it as it was", async () => {
    const { generationId, ids } = await apiImages(globex);
    const foreign = await expectProblem(await deleteImage(acme.secretKey, ids[0]!), 404, 'not_found');
    const unknown = await expectProblem(await deleteImage(acme.secretKey, UNKNOWN_IMAGE), 404, 'not_found');
    expect(foreign.detail).toBe(unknown.detail);
    expect(await stored(await storageKeyOf(generationId, ids[0]!))).toBe(true);
    const own = (await (await getImage(globex.secretKey, ids[0]!)).json()) as ImageBody;
    expect((await fetch(own.url)).status).toBe(200);
  });

  it.each([
    ['a malformed id', '/v1/images/not-an-id', undefined, 'not a valid id'],
    ['an unknown query parameter', '/v1/images/ID?force=true', undefined, 'force'],
    ['a body', '/v1/images/ID', { cascade: true }, 'cascade'],
  ])('refuses %s with a 400 saying so, and deletes nothing', async (_label, path, body, says) => {
    const { generationId, ids } = await apiImages(acme);
    const response = await server.api(acme.secretKey, path.replace('ID', ids[0]!), {
      method: 'DELETE',
      ...(body === undefined ? {} : { body }),
    });
    const problem = await expectProblem(response, 400, 'invalid_request');
    expect(problem.detail).toContain(says);
    expect((await getImage(acme.secretKey, ids[0]!)).status).toBe(200);
    expect(await stored(await storageKeyOf(generationId, ids[0]!))).toBe(true);
    await expectProblem(await server.api(acme.secretKey, `/v1/images/${ids[0]}?x=1`), 400, 'invalid_request');
  });

  it('answers one of two racing deletions 204 and the other 404, with one audit entry', async () => {
    const { generationId, ids } = await apiImages(acme);
    const statuses = await Promise.all([deleteImage(acme.secretKey, ids[0]!), deleteImage(acme.secretKey, ids[0]!)]);
    expect(statuses.map((response) => response.status).sort()).toEqual([204, 404]);
    expect(await auditOf(ids[0]!)).toHaveLength(1);
    expect((await readJob(server, generationId)).images).toEqual([]);
  });
});

describe('DELETE /v1/images/:id cut short (crash safety)', () => {
  it('goes no further when the file cannot be deleted: the entry stays for a retry, nothing is audited', async () => {
    const { generationId, ids } = await apiImages(acme);
    const path = join(server.dataDir, 'files', await storageKeyOf(generationId, ids[0]!));
    // A non-empty directory where the file was: the storage's delete fails as a broken disk would.
    await rm(path);
    await mkdir(join(path, 'stuck'), { recursive: true });

    expect((await deleteImage(acme.secretKey, ids[0]!)).status).toBe(500);
    expect((await readJob(server, generationId)).images.map((image) => image._id)).toEqual(ids);
    expect(await auditOf(ids[0]!)).toEqual([]);

    await rm(path, { recursive: true });
    expect((await deleteImage(acme.secretKey, ids[0]!)).status).toBe(204);
    expect((await readJob(server, generationId)).images).toEqual([]);
    expect(await auditOf(ids[0]!)).toHaveLength(1);
  });

  it('after its first step (the file gone) serves no file, and DELETE again finishes it', async () => {
    const { generationId, ids } = await apiImages(acme);
    const { url } = (await (await getImage(acme.secretKey, ids[0]!)).json()) as ImageBody;
    await server.services.storage.delete(await storageKeyOf(generationId, ids[0]!));

    await expectProblem(await fetch(url), 404, 'not_found');
    expect((await deleteImage(acme.secretKey, ids[0]!)).status).toBe(204);
    await expectProblem(await getImage(acme.secretKey, ids[0]!), 404, 'not_found');
    expect((await readJob(server, generationId)).images).toEqual([]);
    expect(await auditOf(ids[0]!)).toHaveLength(1);
  });

  it('inside its third step (the transition recorded by a request that died) is rolled forward by DELETE again', async () => {
    const { generationId, ids } = await apiImages(acme);
    const job = await readJob(server, generationId);
    await server.services.storage.delete(await storageKeyOf(generationId, ids[0]!));
    const rev = job.rev + 1;
    await runWithTenant(acme.tenantId, () =>
      server.database.models.JobTransition.create({
        _id: `${generationId}:${rev}`,
        jobId: generationId,
        rev,
        kind: 'remove-image',
        from: 'succeeded',
        set: { images: [], rev },
        epoch: job.epoch,
        by: { serverId: 'srv_gone', runnerId: null },
        // Older than the roll-forward window: its writer is taken for dead.
        at: new Date(Date.now() - 60_000),
      }),
    );
    expect((await getImage(acme.secretKey, ids[0]!)).status).toBe(200);

    await expectProblem(await deleteImage(acme.secretKey, ids[0]!), 404, 'not_found');
    expect((await readJob(server, generationId)).images).toEqual([]);
    await expectProblem(await getImage(acme.secretKey, ids[0]!), 404, 'not_found');
    expect(await auditOf(ids[0]!)).toHaveLength(1);
    const history = await runWithTenant(acme.tenantId, () => server.services.queue.history(generationId));
    expect(JSON.stringify(history)).not.toContain(ids[0]);
  });

  it('after its second step (file gone, audit written) is finished by DELETE again without a second audit entry', async () => {
    const { generationId, ids } = await apiImages(acme);
    await server.services.storage.delete(await storageKeyOf(generationId, ids[0]!));
    await runWithTenant(acme.tenantId, () =>
      server.services.audit.record('data.deleted', {
        actor: { kind: 'key', id: 'key_cut_short' },
        target: { kind: 'image', id: ids[0]! },
        details: { generationId },
        once: imageDeletionKey(ids[0]!),
      }),
    );

    expect((await deleteImage(acme.secretKey, ids[0]!)).status).toBe(204);
    expect((await readJob(server, generationId)).images).toEqual([]);
    const entries = await auditOf(ids[0]!);
    expect(entries.map((entry) => entry.actor)).toEqual([{ kind: 'key', id: 'key_cut_short' }]);
  });
});
