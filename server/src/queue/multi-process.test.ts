import mongoose from 'mongoose';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  completeJob,
  connectRunner,
  connectWidget,
  pngBytes,
  runClaimsScenario,
  type RunnerProbe,
  type ServerCluster,
  type ScriptedRunner,
  startHoldingRunner,
  startInstantRunner,
  startServerCluster,
  TEST_ADMIN_TOKEN,
  type WidgetProbe,
} from '@atelier/testing';
import { runAsSystem } from '../tenancy/tenant-context.js';

const { trusted } = mongoose;
const ORIGIN = 'http://shop.test';

describe('the queue across three server processes on one FerretDB', () => {
  it('leases every job exactly once and finishes it exactly once', { timeout: 300_000 }, async () => {
    const figures = await runClaimsScenario({ processes: 3, runnersPerProcess: 2, tenants: 4, jobs: 150 });
    expect(figures).toMatchObject({ processes: 3, runners: 6, tenants: 4, jobs: 150, succeeded: 150 });
    expect(figures.leases).toBe(150);
    expect(figures.claimTransitions).toBe(150);
    expect(figures.completeTransitions).toBe(150);
    expect(figures.deliveries).toBe(150);
    expect(figures.duplicates).toEqual({ leases: 0, claims: 0, completions: 0, deliveries: 0 });
  });
});

describe('several server processes sharing one deployment', () => {
  let cluster: ServerCluster;
  let runnerToken: string;
  const sockets: (RunnerProbe | WidgetProbe)[] = [];
  const runners: ScriptedRunner[] = [];

  beforeAll(async () => {
    cluster = await startServerCluster(3, {
      // A dead server process shows within a second or so.
      ATELIER_INSTANCE_HEARTBEAT_MS: '200',
      ATELIER_RELAY_POLL_MS: '100',
    });
    runnerToken = await cluster.createRunnerToken(cluster.processes[0]!);
  });

  afterEach(async () => {
    await Promise.all(sockets.splice(0).map((socket) => socket.close()));
    await Promise.all(runners.splice(0).map((runner) => runner.close()));
  });

  afterAll(() => cluster.stop());

  const processAt = (index: number) => () => cluster.processes[index]!;
  const [a, b, c] = [processAt(0), processAt(1), processAt(2)];
  const models = () => cluster.database.models;
  const readJob = (id: string) => runAsSystem('test: read job', () => models().Generation.findById(id).lean());
  const transitionsOf = (id: string) =>
    runAsSystem('test: read history', () => models().JobTransition.find({ jobId: id }).sort({ rev: 1 }).lean());

  async function runner(via: () => { url: string }, name: string): Promise<RunnerProbe & { runnerId: string }> {
    const probe = await connectRunner(via().url, runnerToken, name);
    sockets.push(probe);
    return probe;
  }

  it("relays a job's progress and completion to a widget on another process than its runner", async () => {
    const tenant = await cluster.createTenant(b(), { origins: [ORIGIN] });
    const { widget } = await connectWidget(b().url, tenant.publishableKey, ORIGIN);
    sockets.push(widget);
    widget.send({ type: 'generate', ref: 'lamp-1', params: { prompt: 'a walnut desk lamp' } });
    const { id } = await widget.receive('accepted');
    await widget.receive('queued', (message) => message.id === id);

    // The only runner is on process A: it learns of the job through the database.
    const probe = await runner(a, 'on-a');
    probe.send({ type: 'ready' });
    const job = await probe.receive('job', (message) => message.jobId === id);
    probe.send({ type: 'progress', jobId: id, epoch: job.epoch, step: 0, steps: 4, stage: 'encoding' });
    for (let step = 1; step <= 4; step += 1)
      probe.send({ type: 'progress', jobId: id, epoch: job.epoch, step, steps: 4, stage: 'sampling' });
    // Relayed progress is throttled, but the stage changes and the last step always arrive.
    await widget.receive('progress', (message) => message.id === id && message.stage === 'encoding');
    await widget.receive('progress', (message) => message.id === id && message.stage === 'sampling' && message.step === 4);
    const png = await pngBytes(200, 100, 50);
    completeJob(probe, job, [png]);

    const completed = await widget.receive('completed', (message) => message.id === id);
    expect(completed).toMatchObject({ ref: 'lamp-1', images: [{ width: 8, height: 8, format: 'png' }] });
    // Signed by A with the shared secret; B serves it from the shared data dir.
    const file = await fetch(completed.images[0]!.url.replace(a().url, b().url));
    expect(file.status).toBe(200);
    expect(Buffer.from(await file.arrayBuffer()).equals(png)).toBe(true);
    const seqs = widget.log.filter((message) => 'seq' in message).map((message) => (message as { seq: number }).seq);
    expect(seqs).toEqual([...seqs].sort((x, y) => x - y));
    expect(widget.received('failed')).toEqual([]);
  });

  it('stops a job on its runner when the shopper cancels through another process', async () => {
    const tenant = await cluster.createTenant(a(), { origins: [ORIGIN] });
    const probe = await runner(c, 'on-c');
    const response = await a().api(tenant.secretKey, '/v1/generations', { body: { prompt: 'a lamp to cancel' } });
    const { id } = (await response.json()) as { id: string };
    probe.send({ type: 'ready' });
    const job = await probe.receive('job', (message) => message.jobId === id);

    expect((await b().api(tenant.secretKey, `/v1/generations/${id}/cancel`, { method: 'POST' })).status).toBe(200);
    expect(await probe.receive('cancel')).toEqual({ type: 'cancel', jobId: id, epoch: job.epoch });
    // The runner's late report changes nothing.
    completeJob(probe, job, [await pngBytes(1)]);
    expect(await probe.receive('lease-lost', (message) => message.jobId === id)).toMatchObject({ epoch: job.epoch });
    expect(await readJob(id)).toMatchObject({ status: 'canceled', images: [] });
  });

  it('never brings a cancelled job back to life when a cancel storm races claims on every process', async () => {
    // 121 requests within the minute: more than pro's 120 allow (rate limits, shared among
    // the processes), so pro gets room for them here; its concurrency stays as it was.
    const plan = await fetch(new URL('/admin/v1/plans/pro', c().url), {
      method: 'PUT',
      headers: { Authorization: `Bearer ${TEST_ADMIN_TOKEN}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ requestsPerMinute: 1_200 }),
    });
    expect(plan.status).toBe(200);
    // Earlier tests may leave jobs queued whose runners are gone; the holders below would be
    // leased those first, and no cancel of this storm is about them.
    const leftovers = await runAsSystem("test: earlier tests' queued jobs", () =>
      models().Generation.find({ status: 'queued' }).select({ _id: 1 }).lean(),
    );
    await runAsSystem("test: retire earlier tests' queued jobs", () =>
      models().Generation.updateMany({ status: 'queued' }, { $set: { status: 'canceled', finishedAt: new Date() } }),
    );
    const tenant = await cluster.createTenant(c());
    await vi.waitFor(
      async () => {
        for (const server of cluster.processes) {
          const response = await server.api(tenant.secretKey, '/v1/balance');
          expect(response.headers.get('RateLimit-Policy')).toContain('"tenant";q=1200;');
        }
        // Each process re-reads plans within its plan cache's 5 s and its limiter's 2 s refresh.
      },
      { timeout: 15_000, interval: 200 },
    );
    const ids: string[] = [];
    for (let n = 0; n < 60; n += 1) {
      const response = await cluster.processes[n % 3]!.api(tenant.secretKey, '/v1/generations', {
        body: { prompt: `lamp ${n}` },
      });
      ids.push(((await response.json()) as { id: string }).id);
    }
    // On every process: a runner that holds its job until it is cancelled, and then one
    // that finishes jobs at once. The holders have their jobs before the storm starts.
    const holders = await Promise.all(
      cluster.processes.map((server, p) => startHoldingRunner(server.url, runnerToken, `holder-${p}`)),
    );
    runners.push(...holders);
    await vi.waitFor(() => expect(holders.every((holder) => holder.jobs.length === 1)).toBe(true), {
      timeout: 15_000,
      interval: 20,
    });
    const png = await pngBytes(9, 9, 9);
    const [cancels] = await Promise.all([
      Promise.all(
        ids.map(
          async (id, n) =>
            (await cluster.processes[(n + 1) % 3]!.api(tenant.secretKey, `/v1/generations/${id}/cancel`, { method: 'POST' }))
              .status,
        ),
      ),
      Promise.all(
        cluster.processes.map(async (server, p) =>
          runners.push(await startInstantRunner(server.url, runnerToken, `finisher-${p}`, png)),
        ),
      ),
    ]);
    expect(cancels.every((status) => status === 200 || status === 409)).toBe(true);

    // Each holder heard of the cancel of each job it held, whichever process that came through.
    await vi.waitFor(
      () => {
        for (const holder of holders) {
          const held = holder.jobs.map((job) => job.jobId);
          expect(
            holder.cancels.map((cancel) => cancel.jobId),
            `held ${held.join(',')}; of this storm: ${held.every((id) => ids.includes(id))}; earlier jobs retired: ${leftovers.length}`,
          ).toEqual(held);
        }
      },
      { timeout: 15_000, interval: 20 },
    );
    await Promise.all(holders.map((holder) => holder.close()));
    // Every dispatcher has made later passes once one more job has gone all the way through.
    const marker = (await (
      await a().api(tenant.secretKey, '/v1/generations', { body: { prompt: 'after the storm' } })
    ).json()) as { id: string };
    await vi.waitFor(async () => expect((await readJob(marker.id))?.status).toBe('succeeded'), {
      timeout: 60_000,
      interval: 100,
    });

    const jobs = await runAsSystem('test: read the storm', () =>
      models()
        .Generation.find({ _id: trusted({ $in: ids }) })
        .lean(),
    );
    let cancelledWhileRunning = 0;
    for (const [n, id] of ids.entries()) {
      const job = jobs.find((stored) => stored._id === id)!;
      const kinds = (await transitionsOf(id)).map((transition) => transition.kind);
      if (cancels[n] === 200) {
        // Cancelled, and nothing happened to it afterwards.
        expect(job.status).toBe('canceled');
        expect(kinds.at(-1)).toBe('cancel');
        expect(kinds.filter((kind) => kind === 'cancel')).toHaveLength(1);
        if (kinds.at(-2) === 'claim') cancelledWhileRunning += 1;
      } else {
        // 409: it had finished before the cancel arrived.
        expect(job.status).toBe('succeeded');
        expect(kinds).toEqual(['claim', 'complete']);
      }
    }
    // The holders' jobs were running when the storm hit.
    expect(cancelledWhileRunning).toBeGreaterThanOrEqual(holders.length);
  });

  it('takes a server process and its runners off the books at once when it shuts down', async () => {
    const probe = await runner(b, 'leaving');
    probe.send({ type: 'ready' });
    await vi.waitFor(async () => expect((await a().health()).runners).toBe(1), { timeout: 15_000, interval: 50 });
    expect(await models().ServerInstance.countDocuments()).toBe(3);

    await b().stop();
    expect((await probe.closed()).code).toBe(1001);
    expect(await models().ServerInstance.countDocuments()).toBe(2);
    expect((await a().health()).runners).toBe(0);
    expect(await models().Runner.findById(probe.runnerId).lean()).toMatchObject({ state: 'offline' });
  });

  it('stops counting the runners of a server process that was killed, on every other process', async () => {
    const probe = await runner(c, 'doomed');
    probe.send({ type: 'ready' });
    await vi.waitFor(async () => expect((await a().health()).runners).toBe(1), { timeout: 15_000, interval: 50 });

    await c().kill();
    await probe.closed();
    // Nothing of C's ran on its way down: its runner's record still says idle.
    expect(await models().Runner.findById(probe.runnerId).lean()).toMatchObject({ state: 'idle' });
    await vi.waitFor(async () => expect((await a().health()).runners).toBe(0), { timeout: 15_000, interval: 50 });
  });
});
