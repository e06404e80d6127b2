import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { PublicImage } from '@atelier/protocol';
import { runAsSystem } from '../tenancy/tenant-context.js';
import {
  cancelActiveJobs,
  completeJob,
  connectRunner,
  connectWidget,
  pngBytes,
  type RunnerProbe,
  startTestServer,
  type TestServer,
  type WidgetProbe,
} from '@atelier/testing';

/**
 * Resume across server processes (issue 5, §4): two servers on one database, with no
 * signing secret configured, so both read the one kept in the database. A widget that
 * started on one continues on the other.
 */
const ORIGIN = 'http://shop.test';
const PARAMS = { prompt: 'a walnut desk lamp' };

type Tenant = { tenantId: string; secretKey: string; publishableKey: string };
type Resume = { session: string; lastSeq: number };

let a: TestServer;
let b: TestServer;
let shop: Tenant;
let token: string;
/** Sockets the current test opened; closed after it. */
const sockets: (WidgetProbe | RunnerProbe)[] = [];

beforeAll(async () => {
  a = await startTestServer({ ATELIER_SIGNING_SECRET: '' });
  b = await startTestServer({ ATELIER_SIGNING_SECRET: '' }, { reuse: { mongodbUri: a.mongodbUri, dataDir: a.dataDir } });
  shop = await a.createTenant({ origins: [ORIGIN] });
  token = await a.createRunnerToken();
});

afterEach(async () => {
  await Promise.all(sockets.splice(0).map((socket) => socket.close()));
  await cancelActiveJobs(a);
});

afterAll(async () => {
  await b?.close();
  await a?.stop();
});

async function connect(on: TestServer, resume?: Resume) {
  const connected = await connectWidget(on.url, shop.publishableKey, ORIGIN, resume);
  sockets.push(connected.widget);
  return connected;
}

/** A runner on `on` that asked for work and was leased the job `id`. */
async function runnerOn(on: TestServer, id: string) {
  const probe = await connectRunner(on.url, token);
  sockets.push(probe);
  probe.send({ type: 'ready' });
  return { runner: probe, job: await probe.receive('job', (message) => message.jobId === id) };
}

function jobsOf(tenant: Tenant, on: TestServer) {
  return runAsSystem('test: jobs of a tenant', () =>
    on.database.models.Generation.find({ tenantId: tenant.tenantId }).select({ _id: 1, status: 1, ref: 1 }).lean(),
  );
}

const lastSeqOf = (widget: WidgetProbe) =>
  Math.max(0, ...widget.log.map((message) => ('seq' in message && typeof message.seq === 'number' ? message.seq : 0)));

/** The images are real: each signed URL serves the PNG the runner sent. */
async function expectImages(images: PublicImage[], sent: Buffer) {
  expect(images).toHaveLength(1);
  const file = await fetch(images[0]!.url);
  expect(file.status).toBe(200);
  expect(Buffer.from(await file.arrayBuffer()).equals(sent)).toBe(true);
}

describe('a widget that started on one server process', () => {
  it('resumes its session on another: snapshot, the same job for the same ref, and its result', async () => {
    const first = await connect(a);
    first.widget.send({ type: 'generate', ref: 'far', params: PARAMS });
    await first.widget.kill();
    const [made] = await vi.waitFor(async () => {
      const jobs = await jobsOf(shop, a);
      expect(jobs).toHaveLength(1);
      return jobs;
    });

    const second = await connect(b, { session: first.welcome.session, lastSeq: 0 });
    // B verified A's token: the two share the secret kept in the database.
    expect(second.welcome.resume).toBe(true);
    expect(await second.widget.receive('queued', (message) => message.id === made!._id)).toMatchObject({ ref: 'far', seq: 1 });
    second.widget.send({ type: 'generate', ref: 'far', params: PARAMS });
    expect(await second.widget.receive('accepted')).toMatchObject({ ref: 'far', id: made!._id });

    // The runner is on the widget's server, so the job's events start where the widget is.
    const { runner: probe, job } = await runnerOn(b, made!._id);
    const png = await pngBytes(0, 200, 0);
    probe.send({ type: 'progress', jobId: job.jobId, epoch: job.epoch, step: 2, steps: 30, stage: 'sampling' });
    expect(await second.widget.receive('progress', (message) => message.step === 2)).toMatchObject({ id: made!._id, ref: 'far' });
    completeJob(probe, job, [png]);
    const completed = await second.widget.receive('completed', (message) => message.id === made!._id);
    await expectImages(completed.images, png);
    expect(await jobsOf(shop, b)).toEqual([expect.objectContaining({ _id: made!._id, status: 'succeeded' })]);
  });

  it("follows the earlier session's job from a fresh session on another, with its token as proof", async () => {
    const first = await connect(a);
    first.widget.send({ type: 'generate', ref: 'proof', params: PARAMS });
    const { id } = await first.widget.receive('accepted');
    await first.widget.kill();

    const fresh = await connect(b);
    fresh.widget.send({ type: 'watch', id });
    expect(await fresh.widget.receive('error')).toMatchObject({ code: 'not_found' });
    fresh.widget.send({ type: 'watch', id, session: first.welcome.session });
    expect(await fresh.widget.receive('queued', (message) => message.id === id)).toMatchObject({ ref: 'proof' });

    const { runner: probe, job } = await runnerOn(b, id);
    const png = await pngBytes(0, 0, 200);
    completeJob(probe, job, [png]);
    await expectImages((await fresh.widget.receive('completed', (message) => message.id === id)).images, png);
  });

  // The job's events reach the widget through the database relay between servers.
  it('a widget resumed on one server sees a job run by a runner on another', async () => {
    const first = await connect(a);
    first.widget.send({ type: 'generate', ref: 'relay', params: PARAMS });
    const { id } = await first.widget.receive('accepted');
    await first.widget.kill();

    const second = await connect(b, { session: first.welcome.session, lastSeq: lastSeqOf(first.widget) });
    await second.widget.receive('queued', (message) => message.id === id);
    const { runner: probe, job } = await runnerOn(a, id);
    const png = await pngBytes(100, 0, 100);
    probe.send({ type: 'progress', jobId: id, epoch: job.epoch, step: 5, steps: 30, stage: 'sampling' });
    expect(await second.widget.receive('progress', (message) => message.step === 5)).toMatchObject({ id, ref: 'relay' });
    completeJob(probe, job, [png]);
    await expectImages((await second.widget.receive('completed', (message) => message.id === id)).images, png);
  });
});
