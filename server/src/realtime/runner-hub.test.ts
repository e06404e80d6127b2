import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { RUNNER_CLOSE, RUNNER_PROTOCOL_VERSION } from '@atelier/protocol';
import { runAsSystem } from '../tenancy/tenant-context.js';
import {
  cancelActiveJobs,
  completeJob,
  connectRunner,
  connectWidget,
  createGeneration,
  imageFrame,
  openRunnerSocket,
  pngBytes,
  readJob,
  type RunnerProbe,
  runnersGone,
  startTestServer,
  type TestServer,
  UpgradeRefused,
  viewGeneration,
  type WidgetProbe,
} from '@atelier/testing';

const ORIGIN = 'http://shop.test';

let server: TestServer;
let runnerToken: string;
let tenant: { tenantId: string; secretKey: string; publishableKey: string };
/** Sockets the current test opened; closed after it. */
const sockets: (RunnerProbe | WidgetProbe)[] = [];

beforeAll(async () => {
  // A short heartbeat so that the hub's checks on idle runners come round quickly.
  server = await startTestServer({ ATELIER_RUNNER_HEARTBEAT_MS: '300' });
  runnerToken = await server.createRunnerToken();
  tenant = await server.createTenant({ name: 'Acme', origins: [ORIGIN] });
});

afterEach(async () => {
  await Promise.all(sockets.splice(0).map((socket) => socket.close()));
  await runnersGone(server);
  await cancelActiveJobs(server);
});

afterAll(() => server.stop());

async function runner(name?: string): Promise<RunnerProbe & { runnerId: string }> {
  const probe = await connectRunner(server.url, runnerToken, name);
  sockets.push(probe);
  return probe;
}

async function widget(): Promise<WidgetProbe> {
  const { widget: probe } = await connectWidget(server.url, tenant.publishableKey, ORIGIN);
  sockets.push(probe);
  return probe;
}

/** A runner holding a freshly leased job. */
async function runnerWithJob(params: Parameters<typeof createGeneration>[2] = { prompt: 'a walnut desk lamp' }) {
  const id = await createGeneration(server, tenant.secretKey, params);
  const probe = await runner();
  probe.send({ type: 'ready' });
  const job = await probe.receive('job', (message) => message.jobId === id);
  return { id, runner: probe, job };
}

/**
 * A job a shopper started from the widget, leased to a runner; the widget that started
 * it is the one allowed to watch it.
 */
async function runnerWithWidgetJob(params: Parameters<typeof createGeneration>[2] = { prompt: 'a walnut desk lamp' }) {
  const watcher = await widget();
  watcher.send({ type: 'generate', ref: 'job-1', params });
  const { id } = await watcher.receive('accepted');
  const probe = await runner();
  probe.send({ type: 'ready' });
  const job = await probe.receive('job', (message) => message.jobId === id);
  return { id, runner: probe, job, watcher };
}

const countRunners = () => server.database.models.Runner.countDocuments();

/** Files stored for a job, whichever attempt wrote them. */
async function storedFiles(jobId: string): Promise<string[]> {
  const dir = join(server.dataDir, 'files', 'tenants', tenant.tenantId, 'generations', jobId);
  return readdir(dir).catch(() => []);
}

describe('runner authentication', () => {
  it.each([
    ['no Authorization header', () => undefined],
    ['an unknown runner token', () => `rt_${'A'.repeat(43)}`],
    ['a malformed token', () => 'not-a-token'],
    ["a tenant's secret key", () => tenant.secretKey],
  ])('refuses an upgrade with %s: HTTP 401, no socket, no runner recorded', async (_label, token) => {
    const refusal = await openRunnerSocket(server.url, token()).then(
      (probe) => {
        sockets.push(probe);
        throw new Error('the upgrade was accepted');
      },
      (error: unknown) => error,
    );
    expect(refusal).toBeInstanceOf(UpgradeRefused);
    expect((refusal as UpgradeRefused).status).toBe(401);
    expect(await countRunners()).toBe(0);
  });
});

describe('runner handshake', () => {
  it('welcomes a runner that says hello, with heartbeatMs and leaseMs, and records it', async () => {
    const probe = await openRunnerSocket(server.url, runnerToken);
    sockets.push(probe);
    probe.send({
      type: 'hello',
      v: RUNNER_PROTOCOL_VERSION,
      name: 'gpu-box-1',
      device: 'cuda',
      model: 'sdxl-tiny',
      maxPixels: 1_048_576,
    });
    const welcome = await probe.receive('welcome');
    expect(welcome.runnerId).toMatch(/^run_/);
    expect(welcome.heartbeatMs).toBeGreaterThan(0);
    expect(welcome.leaseMs).toBeGreaterThan(2 * welcome.heartbeatMs);
    const record = await server.database.models.Runner.findById(welcome.runnerId).lean();
    expect(record).toMatchObject({ name: 'gpu-box-1', device: 'cuda', state: 'idle' });
  });

  it('keeps counting an idle runner as online for as long as it stays connected', async () => {
    const probe = await runner('idle-for-long');
    probe.send({ type: 'ready' });
    await vi.waitFor(() => expect(server.services.dispatcher.idleCount).toBe(1));
    const health = async () => ((await (await fetch(new URL('/healthz', server.url))).json()) as { runners: number }).runners;
    expect(await health()).toBe(1);

    // A runner says nothing while it waits for work; make it look as if it had waited a minute.
    await server.database.models.Runner.updateOne(
      { _id: probe.runnerId },
      { $set: { lastSeenAt: new Date(Date.now() - 60_000) } },
    );
    await vi.waitFor(async () => expect(await health()).toBe(1));
    await probe.close();
    await vi.waitFor(async () => expect(await health()).toBe(0));
  });

  it('closes a runner that speaks another protocol version', async () => {
    const probe = await openRunnerSocket(server.url, runnerToken);
    sockets.push(probe);
    probe.send({ type: 'hello', v: RUNNER_PROTOCOL_VERSION + 1, name: 'future', device: 'cpu', model: 'x', maxPixels: 1 });
    expect(await probe.receive('error')).toMatchObject({ code: 'unsupported_version' });
    expect((await probe.closed()).code).toBe(RUNNER_CLOSE.protocolError);
    expect(probe.received('welcome')).toEqual([]);
  });

  it.each([
    ['ready before hello', { type: 'ready' }],
    ['a message of no known type', { type: 'gimme', v: 1 }],
    ['text that is not JSON', '{"type":'],
  ])('closes a runner that sends %s', async (_label, message) => {
    const probe = await openRunnerSocket(server.url, runnerToken);
    sockets.push(probe);
    probe.send(message);
    expect((await probe.closed()).code).toBe(RUNNER_CLOSE.protocolError);
  });
});

describe('leasing and reporting', () => {
  it('hands a ready runner the queued job with its resolved params and epoch', async () => {
    const { id, job } = await runnerWithJob({
      prompt: 'a walnut desk lamp',
      aspectRatio: '1152x896',
      seed: 7,
      imageCount: 2,
      performance: 'lightning',
    });
    expect(job).toMatchObject({ type: 'job', jobId: id, epoch: 1 });
    expect(job.params).toMatchObject({
      prompt: 'a walnut desk lamp',
      width: 1152,
      height: 896,
      seed: 7,
      imageCount: 2,
      steps: 4,
      performance: 'lightning',
    });
    expect((await viewGeneration(server, tenant.secretKey, id)).status).toBe('running');
  });

  it('broadcasts progress to a widget watching the job, with growing seq', async () => {
    const { id, runner: probe, job, watcher } = await runnerWithWidgetJob();

    for (let step = 1; step <= 3; step += 1) {
      probe.send({ type: 'progress', jobId: id, epoch: job.epoch, step, steps: 30, stage: 'sampling' });
    }
    const seen = [];
    for (let step = 1; step <= 3; step += 1) seen.push(await watcher.receive('progress', (message) => message.step === step));
    expect(seen.map((message) => ({ id: message.id, stage: message.stage, steps: message.steps }))).toEqual(
      Array(3).fill({ id, stage: 'sampling', steps: 30 }),
    );
    const seqs = seen.map((message) => message.seq);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    expect(new Set(seqs).size).toBe(3);
    await vi.waitFor(async () => expect((await viewGeneration(server, tenant.secretKey, id)).progress.stage).toBe('sampling'));
  });

  it('stores the images of a completed job and serves them by signed URL, byte for byte', async () => {
    const { id, runner: probe, job, watcher } = await runnerWithWidgetJob({ prompt: 'two lamps', imageCount: 2 });
    const images = [await pngBytes(200, 10, 10), await pngBytes(10, 10, 200)];
    completeJob(probe, job, images);

    const completed = await watcher.receive('completed', (message) => message.id === id);
    const view = await viewGeneration(server, tenant.secretKey, id);
    expect(view.status).toBe('succeeded');
    expect(view.images).toHaveLength(2);
    expect(view.images.map((image) => image.id)).toEqual(completed.images.map((image) => image.id));
    for (const [index, image] of view.images.entries()) {
      expect(image).toMatchObject({ width: 8, height: 8, format: 'png' });
      const file = await fetch(image.url);
      expect(file.status).toBe(200);
      expect(file.headers.get('content-type')).toBe('image/png');
      expect(Buffer.from(await file.arrayBuffer()).equals(images[index]!)).toBe(true);
    }
    expect((await readJob(server, id)).lease).toBeNull();
  });

  it('says cancel, not lease-lost, at the next heartbeat when the news of a cancel never arrived', async () => {
    const { id, runner: probe, job } = await runnerWithJob();
    // What another server process writes when it cancels the job; its relayed event is lost
    // here (relayed events are delivered at most once), so only the database knows.
    await runAsSystem('test: a cancel whose event was lost', () =>
      server.database.models.Generation.updateOne(
        { _id: id },
        { $set: { status: 'canceled', lease: null, finishedAt: new Date() } },
      ),
    );
    probe.send({ type: 'heartbeat', jobId: id, epoch: job.epoch });
    expect(await probe.receive('cancel')).toEqual({ type: 'cancel', jobId: id, epoch: job.epoch });
    expect(probe.received('lease-lost')).toEqual([]);
    // It is free again: `ready` gets it the next job.
    const next = await createGeneration(server, tenant.secretKey, { prompt: 'the next lamp' });
    probe.send({ type: 'ready' });
    expect(await probe.receive('job', (message) => message.jobId === next)).toMatchObject({ jobId: next });
  });

  it('answers lease-lost to reports about another job or an old epoch, and changes nothing', async () => {
    const { id, runner: probe, job } = await runnerWithJob();
    const other = await createGeneration(server, tenant.secretKey, { prompt: 'a job nobody holds' });
    const before = { held: await readJob(server, id), other: await readJob(server, other) };
    const png = await pngBytes(1, 2, 3);

    probe.send({ type: 'progress', jobId: id, epoch: job.epoch + 1, step: 9, steps: 30, stage: 'decoding' });
    probe.send({ type: 'heartbeat', jobId: id, epoch: job.epoch - 1 });
    probe.sendBinary(imageFrame({ jobId: other, epoch: 1 }, 0, png));
    probe.send({ type: 'completed', jobId: other, epoch: 1, imageCount: 1 });
    probe.send({ type: 'failed', jobId: other, epoch: 1, code: 'inference_failed', message: 'no' });

    const lost = [];
    for (let i = 0; i < 5; i += 1) lost.push(await probe.receive('lease-lost'));
    expect(lost).toEqual([
      { type: 'lease-lost', jobId: id, epoch: job.epoch + 1 },
      { type: 'lease-lost', jobId: id, epoch: job.epoch - 1 },
      ...Array<unknown>(3).fill({ type: 'lease-lost', jobId: other, epoch: 1 }),
    ]);
    expect(await readJob(server, id)).toMatchObject({
      status: 'running',
      epoch: job.epoch,
      progress: before.held.progress,
      images: [],
    });
    expect(await readJob(server, other)).toMatchObject({ status: 'queued', epoch: 0, images: [] });

    // The runner still holds its own job: the image frame above was not counted for it.
    probe.send({ type: 'completed', jobId: id, epoch: job.epoch, imageCount: 1 });
    await vi.waitFor(async () => expect((await readJob(server, id)).status).toBe('queued'));
    expect((await readJob(server, id)).images).toEqual([]);
  });

  it.each([
    ['fewer image frames than it says', [0], 2],
    ['fewer images than the job asked for', [0], 1],
    ['the same image twice', [0, 0], 2],
  ])('requeues a two-image job completed with %s, storing nothing', async (_label, indexes, says) => {
    const { id, runner: probe, job } = await runnerWithJob({ prompt: 'two lamps', imageCount: 2 });
    for (const index of indexes) probe.sendBinary(imageFrame(job, index, await pngBytes(50 + index)));
    probe.send({ type: 'completed', jobId: id, epoch: job.epoch, imageCount: says });
    const after = await vi.waitFor(async () => {
      const stored = await readJob(server, id);
      expect(stored.status).not.toBe('running');
      return stored;
    });
    expect(after).toMatchObject({ status: 'queued', attempts: 1, images: [], error: { code: 'incomplete_upload' } });
    await vi.waitFor(async () => expect((await storedFiles(id)).length).toBe(0));
  });

  it('fails the generation on a failure the registry says is permanent; REST and the widget show the code and message', async () => {
    const { id, runner: probe, job, watcher } = await runnerWithWidgetJob();
    probe.send({ type: 'failed', jobId: id, epoch: job.epoch, code: 'model_invalid', message: 'The model could not draw this.' });

    expect(await watcher.receive('failed', (message) => message.id === id)).toMatchObject({
      code: 'model_invalid',
      message: 'The model could not draw this.',
    });
    const view = await viewGeneration(server, tenant.secretKey, id);
    expect(view).toMatchObject({ status: 'failed', error: { code: 'model_invalid', message: 'The model could not draw this.' } });
    expect((await readJob(server, id)).attempts).toBe(1);
  });
});

describe('losing runners and jobs', () => {
  it('requeues a job at once when its runner disconnects, and leases it to the next ready runner with a higher epoch', async () => {
    const { id, runner: first, job } = await runnerWithJob();
    await first.kill();
    const requeued = await vi.waitFor(async () => {
      const stored = await readJob(server, id);
      expect(stored.status).toBe('queued');
      return stored;
    });
    expect(requeued).toMatchObject({ lease: null, attempts: 1, error: { code: 'runner_disconnected' } });
    // Runnable now, without a retry backoff: the runner went away, the job did nothing wrong.
    expect(requeued.notBefore.getTime()).toBeLessThanOrEqual(Date.now());

    const second = await runner('second');
    second.send({ type: 'ready' });
    const next = await second.receive('job', (message) => message.jobId === id);
    expect(next.epoch).toBe(job.epoch + 1);
    const stored = await readJob(server, id);
    expect(stored).toMatchObject({ status: 'running', attempts: 2, epoch: job.epoch + 1 });
    expect(stored.lease?.runnerId).toBe(second.runnerId);
  });

  it('gives a job whose runner disconnects straight to a runner that is already waiting', async () => {
    const { id, runner: first, job } = await runnerWithJob();
    const second = await runner('second');
    second.send({ type: 'ready' });
    await vi.waitFor(() => expect(server.services.dispatcher.idleCount).toBe(1));
    await first.kill();
    expect(await second.receive('job', (message) => message.jobId === id)).toMatchObject({ epoch: job.epoch + 1 });
  });

  it('stops a cancelled job on its runner, which can then take new work', async () => {
    const { id, runner: probe, job } = await runnerWithJob();
    const cancel = await server.api(tenant.secretKey, `/v1/generations/${id}/cancel`, { method: 'POST' });
    expect(cancel.status).toBe(200);
    expect(await probe.receive('cancel')).toEqual({ type: 'cancel', jobId: id, epoch: job.epoch });

    // As the real runner does: abandon the job and ask for work.
    const nextId = await createGeneration(server, tenant.secretKey, { prompt: 'the next lamp' });
    probe.send({ type: 'ready' });
    expect((await probe.receive('job')).jobId).toBe(nextId);
    expect((await readJob(server, id)).status).toBe('canceled');
  });

  it('does not hand a second job to a runner that says ready while it holds one', async () => {
    const { id, runner: probe, job } = await runnerWithJob();
    const waiting = await createGeneration(server, tenant.secretKey, { prompt: 'waiting lamp' });
    probe.send({ type: 'ready' });
    // Messages are handled in order: once this progress is stored, the `ready` was handled.
    probe.send({ type: 'progress', jobId: id, epoch: job.epoch, step: 1, steps: 30, stage: 'encoding' });
    await vi.waitFor(async () => expect((await viewGeneration(server, tenant.secretKey, id)).progress.stage).toBe('encoding'));
    await server.services.dispatcher.settled();
    expect(probe.received('job')).toHaveLength(1);
    expect((await readJob(server, waiting)).status).toBe('queued');
  });
});
