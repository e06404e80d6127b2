import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { PublicImage, RunnerJobMessage, ServerMessage } from '@atelier/protocol';
import { runAsSystem } from '../tenancy/tenant-context.js';
import {
  cancelActiveJobs,
  completeJob,
  connectRunner,
  connectWidget,
  pngBytes,
  type RunnerProbe,
  runnersGone,
  startTestServer,
  type TestServer,
  type WidgetProbe,
} from '@atelier/testing';

/**
 * Resume never strands a shopper (issue 5, §4): whatever point of a generation the
 * widget's socket drops at, the widget that comes back gets the job's current state and
 * then the rest of it, ends with the images, and never makes a second job.
 */
const ORIGIN = 'http://shop.test';
const PARAMS = { prompt: 'a walnut desk lamp' };

type Tenant = { tenantId: string; secretKey: string; publishableKey: string };
type Resume = { session: string; lastSeq: number };

let server: TestServer;
let runnerToken: string;
/** Sockets the current test opened; closed after it. */
const sockets: (WidgetProbe | RunnerProbe)[] = [];

beforeAll(async () => {
  server = await startTestServer();
  runnerToken = await server.createRunnerToken();
});

afterEach(async () => {
  await Promise.all(sockets.splice(0).map((socket) => socket.close()));
  await runnersGone(server);
  await cancelActiveJobs(server);
});

afterAll(() => server.stop());

/** Each test has a shop of its own, so its job count is its own. */
const newTenant = () => server.createTenant({ origins: [ORIGIN] });

async function connect(tenant: Tenant, resume?: Resume) {
  const connected = await connectWidget(server.url, tenant.publishableKey, ORIGIN, resume);
  sockets.push(connected.widget);
  return connected;
}

async function runner(): Promise<RunnerProbe> {
  const probe = await connectRunner(server.url, runnerToken);
  sockets.push(probe);
  return probe;
}

/** A runner that asked for work and was leased the job `id`. */
async function runnerWithJob(id: string): Promise<{ runner: RunnerProbe; job: RunnerJobMessage }> {
  const probe = await runner();
  probe.send({ type: 'ready' });
  return { runner: probe, job: await probe.receive('job', (message) => message.jobId === id) };
}

function jobsOf(tenant: Tenant) {
  return runAsSystem('test: jobs of a tenant', () =>
    server.database.models.Generation.find({ tenantId: tenant.tenantId })
      .select({ _id: 1, status: 1, ref: 1, sessionId: 1 })
      .lean(),
  );
}

/** Every message about job `id` a probe received, in order. */
const about = (widget: WidgetProbe, id: string) => widget.log.filter((message) => 'id' in message && message.id === id);

/** The images are real: each signed URL serves the PNG the runner sent. */
async function expectImages(images: PublicImage[], sent: Buffer) {
  expect(images).toHaveLength(1);
  const file = await fetch(images[0]!.url);
  expect(file.status).toBe(200);
  expect(Buffer.from(await file.arrayBuffer()).equals(sent)).toBe(true);
}

/** Job events carry `seq` that grows by one per event of the session: no gaps, no repeats. */
function expectSeqFrom(messages: ServerMessage[], first: number) {
  const seqs = messages.flatMap((message) => ('seq' in message ? [message.seq] : []));
  expect(seqs).toEqual(seqs.map((_, index) => first + index));
}

describe('the socket drops after generate, before accepted reaches the widget', () => {
  it('the same generate on the resumed session answers the job the first one made, which completes there', async () => {
    const tenant = await newTenant();
    const first = await connect(tenant);
    first.widget.send({ type: 'generate', ref: 'r1', params: PARAMS });
    // Gone before reading anything: the request left, its answer never arrives.
    await first.widget.kill();
    const [made] = await vi.waitFor(async () => {
      const jobs = await jobsOf(tenant);
      expect(jobs).toHaveLength(1);
      return jobs;
    });
    expect(first.widget.received('accepted')).toEqual([]);

    const second = await connect(tenant, { session: first.welcome.session, lastSeq: 0 });
    expect(second.welcome.resume).toBe(true);
    second.widget.send({ type: 'generate', ref: 'r1', params: PARAMS });
    const accepted = await second.widget.receive('accepted', (message) => message.ref === 'r1');
    expect(accepted.id).toBe(made!._id);
    // The state came with the ref, whether from the resume's snapshot or the answer's.
    expect(await second.widget.receive('queued', (message) => message.id === made!._id)).toMatchObject({ ref: 'r1' });

    const { runner: probe, job } = await runnerWithJob(accepted.id);
    const png = await pngBytes(40, 80, 120);
    probe.send({ type: 'progress', jobId: job.jobId, epoch: job.epoch, step: 1, steps: 30, stage: 'sampling' });
    completeJob(probe, job, [png]);
    const completed = await second.widget.receive('completed', (message) => message.id === accepted.id);
    expect(completed.ref).toBe('r1');
    await expectImages(completed.images, png);

    for (const message of about(second.widget, accepted.id)) expect(message).toMatchObject({ ref: 'r1' });
    expectSeqFrom(second.widget.log, 1);
    expect(await jobsOf(tenant)).toEqual([expect.objectContaining({ _id: accepted.id, status: 'succeeded', ref: 'r1' })]);
  });

  it('a retry racing the first request still makes exactly one job', async () => {
    const tenant = await newTenant();
    const first = await connect(tenant);
    first.widget.send({ type: 'generate', ref: 'race', params: PARAMS });
    await first.widget.kill();
    // No waiting: the retry may arrive while the first is still being created.
    const second = await connect(tenant, { session: first.welcome.session, lastSeq: 0 });
    second.widget.send({ type: 'generate', ref: 'race', params: PARAMS });
    const accepted = await second.widget.receive('accepted', (message) => message.ref === 'race');
    await second.widget.receive('queued', (message) => message.id === accepted.id);

    // Both requests have been answered (or dropped with the socket): the count is final.
    await vi.waitFor(async () =>
      expect(await jobsOf(tenant)).toEqual([expect.objectContaining({ _id: accepted.id, ref: 'race' })]),
    );
    const { runner: probe, job } = await runnerWithJob(accepted.id);
    const png = await pngBytes(1, 2, 3);
    completeJob(probe, job, [png]);
    await expectImages((await second.widget.receive('completed', (message) => message.id === accepted.id)).images, png);
    expect(await jobsOf(tenant)).toHaveLength(1);
  });
});

describe('the socket drops at each point of the flow; the resumed widget gets the state and then the rest', () => {
  type Point = 'after accepted' | 'while queued' | 'while running, mid-progress' | 'after completed, before the widget saw it';
  const points: Point[] = [
    'after accepted',
    'while queued',
    'while running, mid-progress',
    'after completed, before the widget saw it',
  ];

  it.each(points)('%s', async (point) => {
    const tenant = await newTenant();
    const png = await pngBytes(200, 100, 0);
    const first = await connect(tenant);
    first.widget.send({ type: 'generate', ref: 'job-1', params: PARAMS });
    const accepted = await first.widget.receive('accepted', (message) => message.ref === 'job-1');
    const id = accepted.id;
    let lastSeq = accepted.seq;
    let leased: { runner: RunnerProbe; job: RunnerJobMessage } | undefined;

    if (point !== 'after accepted') lastSeq = (await first.widget.receive('queued', (message) => message.id === id)).seq;
    if (point === 'while running, mid-progress' || point === 'after completed, before the widget saw it') {
      leased = await runnerWithJob(id);
      const { runner: probe, job } = leased;
      for (let step = 1; step <= 3; step += 1) {
        probe.send({ type: 'progress', jobId: id, epoch: job.epoch, step, steps: 30, stage: 'sampling' });
      }
      lastSeq = (await first.widget.receive('progress', (message) => message.id === id && message.step === 3)).seq;
    }
    await first.widget.kill();

    if (leased && point === 'after completed, before the widget saw it') {
      completeJob(leased.runner, leased.job, [png]);
      await vi.waitFor(async () => expect(await jobsOf(tenant)).toEqual([expect.objectContaining({ status: 'succeeded' })]));
    }

    const second = await connect(tenant, { session: first.welcome.session, lastSeq });
    expect(second.welcome.resume).toBe(true);
    const expectedSnapshot = {
      'after accepted': 'queued',
      'while queued': 'queued',
      'while running, mid-progress': 'progress',
      'after completed, before the widget saw it': 'completed',
    }[point];
    const [snapshot] = await vi.waitFor(() => {
      const seen = about(second.widget, id);
      expect(seen.length).toBeGreaterThan(0);
      return seen;
    });
    expect(snapshot).toMatchObject({ type: expectedSnapshot, id, ref: 'job-1', seq: lastSeq + 1 });

    if (point !== 'after completed, before the widget saw it') {
      const { runner: probe, job } = leased ?? (await runnerWithJob(id));
      probe.send({ type: 'progress', jobId: id, epoch: job.epoch, step: 7, steps: 30, stage: 'sampling' });
      expect(await second.widget.receive('progress', (message) => message.id === id && message.step === 7)).toMatchObject({
        ref: 'job-1',
      });
      completeJob(probe, job, [png]);
    }
    const completed = await second.widget.receive('completed', (message) => message.id === id);
    await expectImages(completed.images, png);

    const events = about(second.widget, id);
    expect(events.at(-1)).toBe(completed);
    expect(events.filter((message) => message.type === 'completed')).toHaveLength(1);
    for (const message of events) expect(message).toMatchObject({ ref: 'job-1' });
    expectSeqFrom(second.widget.log, lastSeq + 1);
    expect(await jobsOf(tenant)).toEqual([expect.objectContaining({ _id: id, status: 'succeeded' })]);
  });
});

describe('no event falls between reading a job and following it', () => {
  it('a job that finishes at once after generate still reaches the widget as completed', async () => {
    const tenant = await newTenant();
    const probe = await runner();
    probe.send({ type: 'ready' });
    const png = await pngBytes(5, 50, 150);
    const { widget } = await connect(tenant);
    widget.send({ type: 'generate', ref: 'fast', params: PARAMS });
    // The runner finishes the moment it is handed the job, before anything else happens.
    const job = await probe.receive('job');
    completeJob(probe, job, [png]);
    const completed = await widget.receive('completed', (message) => message.id === job.jobId);
    expect(completed.ref).toBe('fast');
    await expectImages(completed.images, png);
    expect(about(widget, job.jobId).at(-1)).toBe(completed);
  });

  it('a job that finishes while a resume is sending the snapshots of many jobs still reaches the widget', async () => {
    const tenant = await newTenant();
    const first = await connect(tenant);
    // The oldest job is sent last in a resume; it runs, the rest wait in the queue.
    first.widget.send({ type: 'generate', ref: 'oldest', params: PARAMS });
    const { id } = await first.widget.receive('accepted');
    const { runner: probe, job } = await runnerWithJob(id);
    for (let n = 0; n < 12; n += 1) {
      first.widget.send({ type: 'generate', ref: `more-${n}`, params: PARAMS });
      await first.widget.receive('accepted', (message) => message.ref === `more-${n}`);
    }
    await first.widget.kill();

    const png = await pngBytes(250, 250, 0);
    const second = await connect(tenant, { session: first.welcome.session, lastSeq: 0 });
    completeJob(probe, job, [png]);
    const completed = await second.widget.receive('completed', (message) => message.id === id);
    await expectImages(completed.images, png);
    expect(about(second.widget, id).at(-1)).toBe(completed);
  });
});

describe('a reconnect the server does not resume', () => {
  it("watches the earlier session's job only with that session's token as proof", async () => {
    const tenant = await newTenant();
    const other = await newTenant();
    const first = await connect(tenant);
    first.widget.send({ type: 'generate', ref: 'mine', params: PARAMS });
    const { id } = await first.widget.receive('accepted');
    await first.widget.kill();

    const fresh = await connect(tenant);
    expect(fresh.welcome.resume).toBe(false);
    const anotherShopper = await connect(tenant);
    const otherShop = await connect(other);
    const [payload] = first.welcome.session.split('.');
    const wrongProofs = [
      undefined,
      `${payload}.${'A'.repeat(43)}`,
      fresh.welcome.session,
      anotherShopper.welcome.session,
      otherShop.welcome.session,
    ];
    for (const session of wrongProofs) {
      fresh.widget.send({ type: 'watch', id, ...(session === undefined ? {} : { session }) });
      expect(await fresh.widget.receive('error')).toMatchObject({ code: 'not_found' });
    }
    fresh.widget.send({ type: 'cancel', id });
    expect(await fresh.widget.receive('error')).toMatchObject({ code: 'not_found' });
    expect(about(fresh.widget, id)).toEqual([]);

    fresh.widget.send({ type: 'watch', id, session: first.welcome.session });
    expect(await fresh.widget.receive('queued', (message) => message.id === id)).toMatchObject({ ref: 'mine' });
    const { runner: probe, job } = await runnerWithJob(id);
    const png = await pngBytes(9, 9, 9);
    completeJob(probe, job, [png]);
    const completed = await fresh.widget.receive('completed', (message) => message.id === id);
    expect(completed.ref).toBe('mine');
    await expectImages(completed.images, png);
    expect(await jobsOf(tenant)).toHaveLength(1);
  });
});

describe('generate is idempotent per (session, ref)', () => {
  it('the same ref with other params is a conflict that names the ref, and makes no second job', async () => {
    const tenant = await newTenant();
    const { widget } = await connect(tenant);
    widget.send({ type: 'generate', ref: 'once', params: PARAMS });
    const accepted = await widget.receive('accepted');

    widget.send({ type: 'generate', ref: 'once', params: { prompt: 'a different lamp' } });
    const error = await widget.receive('error');
    expect(error).toMatchObject({ ref: 'once', code: 'conflict', message: expect.stringContaining('ref') });

    // The same request again on the same socket is still the same job.
    widget.send({ type: 'generate', ref: 'once', params: PARAMS });
    expect(await widget.receive('accepted')).toMatchObject({ ref: 'once', id: accepted.id });
    expect(await jobsOf(tenant)).toEqual([expect.objectContaining({ _id: accepted.id })]);
  });

  it('the same ref in another session is another request', async () => {
    const tenant = await newTenant();
    const one = await connect(tenant);
    const two = await connect(tenant);
    one.widget.send({ type: 'generate', ref: 'r', params: PARAMS });
    two.widget.send({ type: 'generate', ref: 'r', params: PARAMS });
    const [a, b] = [await one.widget.receive('accepted'), await two.widget.receive('accepted')];
    expect(a.id).not.toBe(b.id);
    expect(await jobsOf(tenant)).toHaveLength(2);
  });
});
