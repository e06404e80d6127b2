import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { ReadinessBody, RunnerBody, RunnerJobMessage } from '@atelier/protocol';
import {
  adminRequest,
  cancelActiveJobs,
  completeJob,
  connectRunner,
  connectWidget,
  createGeneration,
  pngBytes,
  type RunnerProbe,
  runnersGone,
  type ServerCluster,
  startServerCluster,
  startTestServer,
  type TestServer,
  viewGeneration,
  type WidgetProbe,
} from '@atelier/testing';

const ORIGIN = 'http://shop.test';
/** Generous: the condition is what is asserted, not how long a busy machine took to meet it. */
const PATIENT = { timeout: 15_000, interval: 100 };

async function readiness(url: string): Promise<{ status: number; body: ReadinessBody }> {
  const response = await fetch(new URL('/readyz', url));
  return { status: response.status, body: (await response.json()) as ReadinessBody };
}

/** Waits until `/readyz` (whose answer is reused for half a second) says what `check` wants. */
async function readinessUntil(url: string, check: (answer: { status: number; body: ReadinessBody }) => void) {
  await vi.waitFor(async () => check(await readiness(url)), PATIENT);
}

async function runnerHealth(url: string, runnerId: string): Promise<RunnerBody> {
  const response = await adminRequest(url, 'GET', '/admin/v1/runners');
  expect(response.status).toBe(200);
  const runner = ((await response.json()) as { data: RunnerBody[] }).data.find((r) => r.id === runnerId);
  if (!runner) throw new Error(`no runner ${runnerId} listed`);
  return runner;
}

function fail(runner: RunnerProbe, job: RunnerJobMessage, code: 'inference_failed' | 'invalid_params' = 'inference_failed') {
  runner.send({ type: 'failed', jobId: job.jobId, epoch: job.epoch, code, message: 'the GPU said no' });
  runner.send({ type: 'ready' });
}

describe('a runner whose jobs keep failing', () => {
  let server: TestServer;
  let runnerToken: string;
  let tenant: { tenantId: string; secretKey: string; publishableKey: string };
  const sockets: (RunnerProbe | WidgetProbe)[] = [];

  beforeAll(async () => {
    // Two failures trip it, and its cool-down outlasts the test: whatever work appears
    // meanwhile, it must get none of it.
    server = await startTestServer({
      ATELIER_RUNNER_FAILURES_TO_TRIP: '2',
      ATELIER_RUNNER_COOLDOWN_MS: '600000',
      ATELIER_RUNNER_HEARTBEAT_MS: '300',
    });
    runnerToken = await server.createRunnerToken();
    tenant = await server.createTenant({ name: 'Acme', origins: [ORIGIN] });
  });

  afterEach(async () => {
    await Promise.all(sockets.splice(0).map((socket) => socket.close()));
    await runnersGone(server);
    await cancelActiveJobs(server);
  });

  afterAll(() => server.stop());

  async function runner(name: string): Promise<RunnerProbe & { runnerId: string }> {
    const probe = await connectRunner(server.url, runnerToken, name);
    sockets.push(probe);
    return probe;
  }

  it('is taken out of rotation while another runner gets the work, and /readyz says why', async () => {
    await readinessUntil(server.url, ({ status, body }) =>
      expect({ status, body }).toEqual({
        status: 503,
        body: {
          ready: false,
          reasons: ['no runner online'],
          database: 'ok',
          runners: { online: 0, healthy: 0, coolingDown: 0, firstBackAt: null },
        },
      }),
    );

    const flaky = await runner('flaky');
    flaky.send({ type: 'ready' });
    await readinessUntil(server.url, ({ status, body }) =>
      expect({ status, reasons: body.reasons }).toEqual({ status: 200, reasons: [] }),
    );

    // Permanent failures are the job's fault, not the runner's: they count for nothing.
    const bad = await createGeneration(server, tenant.secretKey, { prompt: 'a bad job' });
    fail(flaky, await flaky.receive('job', (job) => job.jobId === bad), 'invalid_params');
    await vi.waitFor(async () => expect((await viewGeneration(server, tenant.secretKey, bad)).status).toBe('failed'), PATIENT);
    expect(await runnerHealth(server.url, flaky.runnerId)).toMatchObject({ health: 'healthy', failures: 0, lastFailure: null });

    const first = await createGeneration(server, tenant.secretKey, { prompt: 'a walnut desk lamp' });
    const second = await createGeneration(server, tenant.secretKey, { prompt: 'a brass floor lamp' });
    fail(flaky, await flaky.receive('job'));
    await vi.waitFor(
      async () => expect(await runnerHealth(server.url, flaky.runnerId)).toMatchObject({ health: 'healthy', failures: 1 }),
      PATIENT,
    );
    fail(flaky, await flaky.receive('job'));
    const failedJobs = flaky.received('job').length;

    await vi.waitFor(async () => {
      const tripped = await runnerHealth(server.url, flaky.runnerId);
      expect(tripped).toMatchObject({ health: 'cooling-down', failures: 2, lastFailure: { code: 'inference_failed' } });
      expect(Date.parse(tripped.coolingDownUntil!) - Date.parse(tripped.lastFailure!.at)).toBe(600_000);
    }, PATIENT);
    await readinessUntil(server.url, ({ status, body }) => {
      expect(status).toBe(503);
      expect(body.reasons).toEqual([
        expect.stringMatching(/^the only runner is cooling down after repeated failures, until \d{4}-/),
      ]);
      expect(body.runners).toMatchObject({ online: 1, healthy: 0, coolingDown: 1 });
    });
    // Liveness is another matter: the server and its runner are there.
    expect(await (await fetch(new URL('/healthz', server.url))).json()).toEqual({ ok: true, runners: 1 });

    // A shopper's request still queues, and the widget is told no runner can take it yet (at
    // once, or by the update that follows when the estimate read just before the trip expires).
    const { widget } = await connectWidget(server.url, tenant.publishableKey, ORIGIN);
    sockets.push(widget);
    widget.send({ type: 'generate', ref: 'lamp', params: { prompt: 'a paper lantern' } });
    const { id: queued } = await widget.receive('accepted');
    expect(await widget.receive('queued', (message) => message.id === queued && message.runners === 0)).toMatchObject({
      etaSeconds: null,
    });

    // The flaky runner has said `ready` and sits idle; a healthy one joins and gets every job.
    const steady = await runner('steady');
    steady.send({ type: 'ready' });
    await readinessUntil(server.url, ({ status, body }) => {
      expect(status).toBe(200);
      expect(body.runners).toMatchObject({ online: 2, healthy: 1, coolingDown: 1 });
    });
    const image = await pngBytes(20, 120, 40);
    const done = new Set<string>();
    while (done.size < 3) {
      const job = await steady.receive('job', (message) => !done.has(message.jobId), { timeoutMs: 15_000 });
      completeJob(steady, job, [image]);
      steady.send({ type: 'ready' });
      done.add(job.jobId);
    }
    expect([...done].sort()).toEqual([first, second, queued].sort());
    await widget.receive('completed', (message) => message.id === queued);
    expect(flaky.received('job')).toHaveLength(failedJobs);

    await steady.close();
    await readinessUntil(server.url, ({ status, body }) => {
      expect(status).toBe(503);
      expect(body.runners).toMatchObject({ online: 1, healthy: 0, coolingDown: 1 });
    });
  });
});

describe('a runner that has cooled down', () => {
  let server: TestServer;
  let runnerToken: string;
  let tenant: { tenantId: string; secretKey: string; publishableKey: string };
  const sockets: RunnerProbe[] = [];

  beforeAll(async () => {
    server = await startTestServer({
      ATELIER_RUNNER_FAILURES_TO_TRIP: '1',
      ATELIER_RUNNER_COOLDOWN_MS: '700',
      ATELIER_RUNNER_MAX_COOLDOWN_MS: '1000',
    });
    runnerToken = await server.createRunnerToken();
    tenant = await server.createTenant({ name: 'Acme', origins: [ORIGIN] });
  });

  afterEach(async () => {
    await Promise.all(sockets.splice(0).map((socket) => socket.close()));
    await runnersGone(server);
    await cancelActiveJobs(server);
  });

  afterAll(() => server.stop());

  it('gets one trial job: a failure sends it back for longer (up to the maximum), a success restores it', async () => {
    const probe = await connectRunner(server.url, runnerToken, 'recovering');
    sockets.push(probe);
    probe.send({ type: 'ready' });
    const jobs = [
      await createGeneration(server, tenant.secretKey, { prompt: 'a walnut desk lamp' }),
      await createGeneration(server, tenant.secretKey, { prompt: 'a brass floor lamp' }),
      await createGeneration(server, tenant.secretKey, { prompt: 'a paper lantern' }),
    ];
    const cooldowns: number[] = [];
    for (let failure = 1; failure <= 3; failure++) {
      const job = await probe.receive('job');
      const receivedAt = Date.now();
      if (failure > 1) {
        // Work was waiting all along: it reached the runner only once its cool-down was over.
        const before = cooldowns.at(-1)!;
        expect(receivedAt).toBeGreaterThanOrEqual(before);
      }
      fail(probe, job);
      // Its cool-down may be over by the time the answer comes on a busy machine: its end is what counts.
      const tripped = await vi.waitFor(async () => {
        const health = await runnerHealth(server.url, probe.runnerId);
        expect(health).toMatchObject({ failures: failure, lastFailure: { code: 'inference_failed' } });
        expect(['cooling-down', 'on-trial']).toContain(health.health);
        return health;
      }, PATIENT);
      const until = Date.parse(tripped.coolingDownUntil!);
      expect(until - Date.parse(tripped.lastFailure!.at)).toBe([700, 1000, 1000][failure - 1]);
      cooldowns.push(until);
    }

    const trial = await probe.receive('job');
    expect(Date.now()).toBeGreaterThanOrEqual(cooldowns.at(-1)!);
    expect(jobs).toContain(trial.jobId);
    completeJob(probe, trial, [await pngBytes(200, 10, 10)]);
    await vi.waitFor(
      async () =>
        expect(await runnerHealth(server.url, probe.runnerId)).toMatchObject({
          health: 'healthy',
          failures: 0,
          coolingDownUntil: null,
          // Kept for the record after the recovery.
          lastFailure: { code: 'inference_failed' },
        }),
      PATIENT,
    );
    await vi.waitFor(
      async () => expect((await viewGeneration(server, tenant.secretKey, trial.jobId)).status).toBe('succeeded'),
      PATIENT,
    );
  });
});

describe('the breaker across server processes', () => {
  let cluster: ServerCluster;

  beforeAll(async () => {
    cluster = await startServerCluster(2, {
      ATELIER_RUNNER_FAILURES_TO_TRIP: '1',
      ATELIER_RUNNER_COOLDOWN_MS: '600000',
      ATELIER_INSTANCE_HEARTBEAT_MS: '200',
    });
  });

  afterAll(() => cluster.stop());

  it('shows a runner tripped on one process as cooling down on the other, which is not ready either', async () => {
    const [a, b] = [cluster.processes[0]!, cluster.processes[1]!];
    const runnerToken = await cluster.createRunnerToken(a);
    const tenant = await cluster.createTenant(b, { origins: [ORIGIN] });
    const probe = await connectRunner(a.url, runnerToken, 'on-a');
    try {
      probe.send({ type: 'ready' });
      await readinessUntil(b.url, ({ status, body }) =>
        expect({ status, runners: body.runners?.healthy }).toEqual({ status: 200, runners: 1 }),
      );

      const created = await fetch(new URL('/v1/generations', b.url), {
        method: 'POST',
        headers: { Authorization: `Bearer ${tenant.secretKey}`, 'Content-Type': 'application/json' },
        body: JSON.stringify({ prompt: 'a walnut desk lamp' }),
      });
      expect(created.status).toBe(202);
      fail(probe, await probe.receive('job'));

      await vi.waitFor(
        async () =>
          expect(await runnerHealth(b.url, probe.runnerId)).toMatchObject({
            health: 'cooling-down',
            failures: 1,
            lastFailure: { code: 'inference_failed' },
          }),
        PATIENT,
      );
      await readinessUntil(b.url, ({ status, body }) => {
        expect(status).toBe(503);
        expect(body.runners).toMatchObject({ online: 1, healthy: 0, coolingDown: 1 });
      });
    } finally {
      await probe.close();
    }
  });
});
