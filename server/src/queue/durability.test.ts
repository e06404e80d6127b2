import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  completeJob,
  connectRunner,
  connectWidget,
  createGeneration,
  pngBytes,
  readJob,
  restartTestServer,
  type RunnerProbe,
  startTestServer,
  type TestServer,
  viewGeneration,
  type WidgetProbe,
} from '@atelier/testing';

const ORIGIN = 'http://shop.test';
/** Short leases so that an orphaned job comes back within a second or so. */
const FAST = { ATELIER_RUNNER_LEASE_MS: '1000', ATELIER_RUNNER_HEARTBEAT_MS: '200', ATELIER_DISPATCH_POLL_MS: '100' };

/** The server the test is on now (after any restart); it owns the database and data dir. */
let current: TestServer | undefined;
const sockets: (RunnerProbe | WidgetProbe)[] = [];

afterEach(async () => {
  await Promise.all(sockets.splice(0).map((socket) => socket.close()));
  await current?.stop();
  current = undefined;
});

async function start(env: Record<string, string> = {}): Promise<TestServer> {
  current = await startTestServer(env);
  return current;
}

async function restart(previous: TestServer, env: Record<string, string> = {}): Promise<TestServer> {
  current = await restartTestServer(previous, env);
  return current;
}

async function runner(server: TestServer, token: string, name: string): Promise<RunnerProbe> {
  const probe = await connectRunner(server.url, token, name);
  sockets.push(probe);
  return probe;
}

describe('durability across a server restart', () => {
  it('keeps accepted jobs queued through a restart and runs them, oldest first, when a runner says ready', async () => {
    const first = await start();
    const tenant = await first.createTenant({ origins: [ORIGIN] });
    const token = await first.createRunnerToken();
    const ids: string[] = [];
    for (const prompt of ['first lamp', 'second lamp', 'third lamp'])
      ids.push(await createGeneration(first, tenant.secretKey, { prompt }));

    const second = await restart(first);
    expect(second.url).not.toBe(first.url);
    for (const id of ids) expect((await viewGeneration(second, tenant.secretKey, id)).status).toBe('queued');

    const probe = await runner(second, token, 'after-restart');
    const leased: string[] = [];
    for (const [index] of ids.entries()) {
      probe.send({ type: 'ready' });
      const job = await probe.receive('job');
      leased.push(job.jobId);
      completeJob(probe, job, [await pngBytes(40 * (index + 1))]);
      await vi.waitFor(async () => expect((await readJob(second, job.jobId)).status).toBe('succeeded'));
    }
    expect(leased).toEqual(ids);
    // The data dir survived too: the new server signs and serves the new images.
    const view = await viewGeneration(second, tenant.secretKey, ids[0]!);
    expect((await fetch(view.images[0]!.url)).status).toBe(200);
  });

  it('requeues a job at once when the server shuts down under a runner, and finishes it after the restart', async () => {
    const first = await start();
    const tenant = await first.createTenant({ origins: [ORIGIN] });
    const token = await first.createRunnerToken();
    const id = await createGeneration(first, tenant.secretKey);
    const before = await runner(first, token, 'before-restart');
    before.send({ type: 'ready' });
    const job = await before.receive('job');

    const second = await restart(first);
    expect((await before.closed()).code).toBe(1001);
    // Shutdown put the job back (it did not wait for the lease to run out).
    expect(await readJob(second, id)).toMatchObject({ status: 'queued', lease: null, error: { code: 'runner_disconnected' } });

    const after = await runner(second, token, 'after-restart');
    after.send({ type: 'ready' });
    const again = await after.receive('job');
    expect(again).toMatchObject({ jobId: id, epoch: job.epoch + 1 });
    completeJob(after, again, [await pngBytes(90)]);
    await vi.waitFor(async () => expect((await readJob(second, id)).status).toBe('succeeded'));
  });

  it('requeues a job that was running when its server died once the lease expires, and completes it exactly once', async () => {
    const first = await start(FAST);
    const tenant = await first.createTenant({ origins: [ORIGIN] });
    const token = await first.createRunnerToken();
    // A shopper starts the job from the widget…
    const before = await connectWidget(first.url, tenant.publishableKey, ORIGIN);
    sockets.push(before.widget);
    before.widget.send({ type: 'generate', ref: 'r1', params: { prompt: 'a walnut desk lamp' } });
    const { id } = await before.widget.receive('accepted');
    const lastSeq = (await before.widget.receive('queued')).seq;
    // …and the state a crash leaves: the job is leased in the database to a runner whose
    // server process is gone, so nobody will report on it or requeue it on disconnect.
    const orphan = (await first.services.queue.claimNext('run_on_the_dead_server'))!;
    expect(orphan).toMatchObject({ jobId: id, epoch: 1 });

    const second = await restart(first, FAST);
    expect((await readJob(second, id)).status).toBe('running');
    // The shopper's widget reconnects to the new server and resumes its session.
    const { widget, welcome } = await connectWidget(second.url, tenant.publishableKey, ORIGIN, {
      session: before.welcome.session,
      lastSeq,
    });
    sockets.push(widget);
    expect(welcome.resume).toBe(true);
    await widget.receive('progress', (message) => message.id === id);
    const published: string[] = [];
    const unsubscribe = second.services.events.subscribe(id, ({ event }) => published.push(event.type));

    const probe = await runner(second, token, 'survivor');
    probe.send({ type: 'ready' });
    const job = await probe.receive('job', (message) => message.jobId === id);
    expect(job.epoch).toBe(orphan.epoch + 1);
    expect(await readJob(second, id)).toMatchObject({ status: 'running', attempts: 2, error: { code: 'runner_lost' } });

    completeJob(probe, job, [await pngBytes(120)]);
    await widget.receive('completed', (message) => message.id === id);
    // The old lease's late report changes nothing.
    expect(await second.services.queue.complete(orphan, [])).toBe('stale');
    expect(await second.services.queue.fail(orphan, { code: 'inference_failed', message: 'late' })).toBe('stale');

    const done = await readJob(second, id);
    expect(done).toMatchObject({ status: 'succeeded', epoch: job.epoch, attempts: 2 });
    expect(done.images).toHaveLength(1);
    expect(published.filter((type) => type === 'completed')).toHaveLength(1);
    expect(published).not.toContain('failed');
    expect(widget.received('failed')).toEqual([]);
    unsubscribe();
  });
});

describe('a runner that falls silent with its socket open', () => {
  it('is dropped after two leases without a word, and the next job goes to a runner that answers', async () => {
    const server = await start(FAST);
    const tenant = await server.createTenant({ origins: [ORIGIN] });
    const token = await server.createRunnerToken();
    // Its machine is gone but nothing closed the connection: it answers no ping.
    const silent = await connectRunner(server.url, token, 'half-open', { autoPong: false });
    sockets.push(silent);
    silent.send({ type: 'ready' });
    await vi.waitFor(() => expect(server.services.dispatcher.idleCount).toBe(1));

    expect((await silent.closed()).code).toBe(1006);
    await vi.waitFor(() => expect(server.services.dispatcher.idleCount).toBe(0));

    const id = await createGeneration(server, tenant.secretKey);
    const alive = await runner(server, token, 'alive');
    alive.send({ type: 'ready' });
    // The first lease of the job: nobody was handed it before.
    expect(await alive.receive('job')).toMatchObject({ jobId: id, epoch: 1 });
  });
});
