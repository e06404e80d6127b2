import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { GenerationParams, QueuedMessage } from '@atelier/protocol';
import {
  cancelActiveJobs,
  connectRunner,
  connectWidget,
  readJob,
  runnersGone,
  startHoldingRunner,
  startServerCluster,
  startTestServer,
  viewGeneration,
  type RunnerProbe,
  type ScriptedRunner,
  type ServerCluster,
  type TestServer,
  type WidgetProbe,
} from '@atelier/testing';
import { newId } from '../services/ids.js';
import { runWithTenant } from '../tenancy/tenant-context.js';

const ORIGIN = 'https://shop.test';
/** Recent run times per image recorded below (run-times.ts takes the median). */
const SPEED_SECONDS = 6;
const QUALITY_SECONDS = 30;

/** The positions a widget was told for one job, each once in the order it was told. */
function positionsOf(widget: WidgetProbe, id: string): number[] {
  const positions = widget.received('queued').flatMap((message) => (message.id === id ? [message.position] : []));
  return positions.filter((position, index) => index === 0 || positions[index - 1] !== position);
}

/** The next `queued` message matching `where`; on a timeout the error lists every `queued` received. */
async function queuedWhere(
  widget: WidgetProbe,
  where: (message: QueuedMessage) => boolean,
  timeoutMs?: number,
): Promise<QueuedMessage> {
  try {
    return await widget.receive('queued', where, timeoutMs === undefined ? {} : { timeoutMs });
  } catch (error) {
    const told = widget
      .received('queued')
      .map(({ id, seq, position, etaSeconds, runners }) => ({ id, seq, position, etaSeconds, runners }));
    throw new Error(`${(error as Error).message}; queued so far: ${JSON.stringify(told)}`, { cause: error });
  }
}

async function generate(
  widget: WidgetProbe,
  ref: string,
  params: GenerationParams = { prompt: `a lamp ${ref}`, performance: 'speed' },
) {
  widget.send({ type: 'generate', ref, params });
  const { id } = await widget.receive('accepted', (message) => message.ref === ref);
  const queued = await queuedWhere(widget, (message) => message.id === id);
  return { id, queued };
}

describe('queue position and ETA on one server process', () => {
  let server: TestServer;
  let runnerToken: string;
  const sockets: (WidgetProbe | RunnerProbe)[] = [];
  const runners: ScriptedRunner[] = [];

  beforeAll(async () => {
    server = await startTestServer();
    runnerToken = await server.createRunnerToken();
    await recordRunTimes(server);
  });

  afterEach(async () => {
    await Promise.all(sockets.splice(0).map((socket) => socket.close()));
    await Promise.all(runners.splice(0).map((runner) => runner.close()));
    await runnersGone(server);
    await cancelActiveJobs(server);
  });

  afterAll(() => server.stop());

  async function widgetFor(tenant: { publishableKey: string }) {
    const { widget } = await connectWidget(server.url, tenant.publishableKey, ORIGIN);
    sockets.push(widget);
    return widget;
  }

  async function holdingRunner(name: string) {
    const runner = await startHoldingRunner(server.url, runnerToken, name);
    runners.push(runner);
    return runner;
  }

  /** A runner that is online and offers every preset but never asks for work. */
  async function idleRunner() {
    const probe = await connectRunner(server.url, runnerToken, 'idle');
    sockets.push(probe);
    return probe;
  }

  // First in this file: no runner has been online here yet, so no estimate can be
  // computed with one a moment after it left.
  it('sends no update to a job whose estimate did not change when the queue moved behind it', async () => {
    const tenant = await server.createTenant({ origins: [ORIGIN] });
    const widget = await widgetFor(tenant);
    const [a, b, c, d] = [
      await generate(widget, 'a'),
      await generate(widget, 'b'),
      await generate(widget, 'c'),
      await generate(widget, 'd'),
    ];
    expect([a, b, c, d].map(({ queued }) => [queued.position, queued.runners])).toEqual([
      [1, 0],
      [2, 0],
      [3, 0],
      [4, 0],
    ]);

    widget.send({ type: 'cancel', id: c.id });
    await widget.receive('failed', (message) => message.id === c.id);
    // The tenant's estimates were computed again: the job behind the cancelled one moved up.
    await queuedWhere(widget, (message) => message.id === d.id && message.position === 3);
    // Whatever was sent in that pass came before this answer.
    widget.send({ type: 'watch', id: a.id });
    const answer = await queuedWhere(widget, (message) => message.id === a.id);

    const told = (id: string) => widget.received('queued').filter((message) => message.id === id);
    expect(told(a.id)).toEqual([a.queued, answer]);
    expect(answer).toMatchObject({ position: 1, etaSeconds: null, runners: 0 });
    expect(told(b.id)).toEqual([b.queued]);
  });

  it("estimates from the recent run times of the job's own preset: quality takes longer than speed", async () => {
    const tenant = await server.createTenant({ origins: [ORIGIN] });
    await idleRunner();
    const create = async (params: GenerationParams) => {
      const response = await server.api(tenant.secretKey, '/v1/generations', { body: params });
      expect(response.status).toBe(202);
      return ((await response.json()) as { id: string }).id;
    };
    const cancel = (id: string) => server.api(tenant.secretKey, `/v1/generations/${id}/cancel`, { method: 'POST' });
    // A process reads the runners at most once a second and the run times every few: the
    // first estimate may predate the runner or the recorded jobs.
    const speed = await create({ prompt: 'a lamp', performance: 'speed' });
    await vi.waitFor(
      async () =>
        expect((await viewGeneration(server, tenant.secretKey, speed)).queue).toEqual({
          position: 1,
          etaSeconds: SPEED_SECONDS,
          runners: 1,
        }),
      { timeout: 10_000, interval: 250 },
    );
    await cancel(speed);
    // What a fresh estimate answers from then on, on acceptance as on GET.
    const estimateOf = async (params: GenerationParams) => {
      const response = await server.api(tenant.secretKey, '/v1/generations', { body: params });
      const { id, queue } = (await response.json()) as { id: string; queue: unknown };
      expect((await viewGeneration(server, tenant.secretKey, id)).queue).toMatchObject(queue as object);
      await cancel(id);
      return queue;
    };
    expect(await estimateOf({ prompt: 'a lamp', performance: 'speed' })).toEqual({ position: 1, etaSeconds: SPEED_SECONDS });
    expect(await estimateOf({ prompt: 'a lamp', performance: 'quality' })).toEqual({ position: 1, etaSeconds: QUALITY_SECONDS });
    expect(await estimateOf({ prompt: 'a lamp', performance: 'quality', imageCount: 2 })).toEqual({
      position: 1,
      etaSeconds: 2 * QUALITY_SECONDS,
    });
  });

  it('stretches the ETA while another tenant of the same weight shares the only runner, and says so when it stops', async () => {
    const tenant = await server.createTenant({ origins: [ORIGIN] });
    const other = await server.createTenant({ origins: [ORIGIN] });
    await idleRunner();
    const widget = await widgetFor(tenant);
    const { id } = await generate(widget, 'shared', { prompt: 'a lamp', performance: 'speed' });
    // Told after what the widget was told before; the first such message may be the
    // answer to generate itself, or an update (an estimate may predate the runner by up to a second).
    const told = (etaSeconds: number, after = 0) =>
      vi.waitFor(
        () => {
          const queued = widget.received('queued');
          const found = queued.find((message) => message.id === id && message.seq > after && message.etaSeconds === etaSeconds);
          if (!found) throw new Error(`not told ${etaSeconds} s yet: ${JSON.stringify(queued)}`);
          return found;
        },
        { timeout: 15_000, interval: 20 },
      );
    const alone = await told(SPEED_SECONDS);
    expect(alone).toMatchObject({ position: 1, runners: 1 });

    const response = await server.api(other.secretKey, '/v1/generations', { body: { prompt: 'a chair' } });
    expect(response.status, await response.clone().text()).toBe(202);
    const { id: theirs } = (await response.json()) as { id: string };
    expect((await readJob(server, theirs)).status).toBe('queued');
    const shared = await told(2 * SPEED_SECONDS, alone.seq);
    await server.api(other.secretKey, `/v1/generations/${theirs}/cancel`, { method: 'POST' });
    const back = await told(SPEED_SECONDS, shared.seq);
    // Other tenants are counted, never shown: the position is the tenant's own.
    expect([shared.position, back.position]).toEqual([1, 1]);
  });
  it('tells a widget watching the third job 3 → 2 → 1 as runners take the jobs ahead, as REST does', async () => {
    const tenant = await server.createTenant({ origins: [ORIGIN] });
    const widget = await widgetFor(tenant);
    const jobs: Awaited<ReturnType<typeof generate>>[] = [];
    for (const ref of ['first', 'second', 'third']) jobs.push(await generate(widget, ref));
    const third = jobs[2]!;
    expect(third.queued.position).toBe(3);

    const one = await holdingRunner('one');
    await queuedWhere(widget, (message) => message.id === third.id && message.position === 2);
    await vi.waitFor(() => expect(one.jobs.map((job) => job.jobId)).toEqual([jobs[0]!.id]));
    await holdingRunner('two');
    // Runners online are read at most once a second: the count may come after the move.
    const last = await queuedWhere(
      widget,
      (message) => message.id === third.id && message.position === 1 && message.runners === 2,
    );

    expect(positionsOf(widget, third.id)).toEqual([3, 2, 1]);
    // Two runners, each busy with a speed job of about SPEED_SECONDS: the third starts when one frees.
    expect(last).toMatchObject({ position: 1, etaSeconds: expect.any(Number) });
    expect(last.etaSeconds).toBeGreaterThan(SPEED_SECONDS);
    expect(last.etaSeconds).toBeLessThanOrEqual(2 * SPEED_SECONDS);
    const view = await viewGeneration(server, tenant.secretKey, third.id);
    expect(view.queue).toMatchObject({ position: 1, runners: 2 });
    expect(Math.abs(view.queue!.etaSeconds! - last.etaSeconds!)).toBeLessThanOrEqual(1);
    expect((await readJob(server, third.id)).status).toBe('queued');
  });
});

describe('queue updates across server processes', () => {
  let cluster: ServerCluster;
  const sockets: (WidgetProbe | RunnerProbe)[] = [];

  beforeAll(async () => {
    cluster = await startServerCluster(2, { ATELIER_RELAY_POLL_MS: '100' });
  });

  afterAll(async () => {
    await Promise.all(sockets.splice(0).map((socket) => socket.close()));
    await cluster.stop();
  });

  it('moves a widget on one process up when a runner on the other takes the job ahead', async () => {
    const [a, b] = cluster.processes as [ServerCluster['processes'][number], ServerCluster['processes'][number]];
    const tenant = await cluster.createTenant(b, { origins: [ORIGIN] });
    // Online before the jobs exist, so that nothing but the job starting changes the estimate.
    const runner = await connectRunner(a.url, await cluster.createRunnerToken(a), 'on-a');
    sockets.push(runner);
    const { widget } = await connectWidget(b.url, tenant.publishableKey, ORIGIN);
    sockets.push(widget);
    const first = await generate(widget, 'first');
    const second = await generate(widget, 'second');
    expect(second.queued).toMatchObject({ position: 2, runners: 1 });

    runner.send({ type: 'ready' });
    expect(await runner.receive('job')).toMatchObject({ jobId: first.id });
    // Well within the unprompted refresh (15 s): the start came through the relay.
    const moved = await queuedWhere(widget, (message) => message.id === second.id, 8_000);
    expect(moved).toMatchObject({ position: 1, runners: 1 });
    expect(positionsOf(widget, second.id)).toEqual([2, 1]);
  });
});

/**
 * Succeeded jobs that ran SPEED_SECONDS (speed) and QUALITY_SECONDS (quality) per image a
 * minute ago: copies of a job made through the API, stored as finished.
 */
async function recordRunTimes(server: TestServer): Promise<void> {
  const tenant = await server.createTenant({ origins: [ORIGIN] });
  const response = await server.api(tenant.secretKey, '/v1/generations', { body: { prompt: 'a finished lamp' } });
  const { id } = (await response.json()) as { id: string };
  const { _id: _, createdAt: _created, updatedAt: _updated, ...job } = await readJob(server, id);
  await server.api(tenant.secretKey, `/v1/generations/${id}/cancel`, { method: 'POST' });
  const finishedAt = new Date(Date.now() - 60_000);
  const finished = (performance: 'speed' | 'quality', seconds: number) => ({
    ...job,
    _id: newId('gen'),
    status: 'succeeded' as const,
    resolved: { ...job.resolved, performance, imageCount: 1 },
    startedAt: new Date(finishedAt.getTime() - seconds * 1000),
    finishedAt,
  });
  await runWithTenant(tenant.tenantId, () =>
    server.database.models.Generation.insertMany([
      ...[SPEED_SECONDS - 1, SPEED_SECONDS, SPEED_SECONDS + 2].map((seconds) => finished('speed', seconds)),
      ...[QUALITY_SECONDS, QUALITY_SECONDS - 3, QUALITY_SECONDS + 1].map((seconds) => finished('quality', seconds)),
    ]),
  );
}
