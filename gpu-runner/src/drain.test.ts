import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createGeneration, readJob, startTestServer, viewGeneration, type TestServer } from '@atelier/testing';
import { runWithTenant } from '@atelier/server';
import { ensureModel } from './model/ensure-model.js';

/**
 * Stopping `atelier-runner` (the built dist/main.js, as a process) against a real server:
 * SIGTERM drains, a second SIGTERM or the drain timeout hands the job back.
 */
const MAIN = fileURLToPath(new URL('../dist/main.js', import.meta.url));

interface LogLine {
  msg?: string;
  jobId?: string | null;
  [field: string]: unknown;
}

interface RunnerProcess {
  child: ChildProcess;
  lines: LogLine[];
  exited: Promise<number | null>;
}

let server: TestServer;
let dir: string;
let tenant: { tenantId: string; secretKey: string };
const runners: RunnerProcess[] = [];

/** Seconds for the tiny model (30 steps at 1024×1024): long enough to be stopped in flight. */
const LONG_JOB = { prompt: 'a walnut desk lamp', performance: 'speed' } as const;

async function startRunner(name: string, env: Record<string, string> = {}): Promise<RunnerProcess> {
  // A runner that has exited may still be closing on the server, which could lease this
  // test's job to its closing socket first (costing the job an attempt).
  await vi.waitFor(() => expect(server.services.runnerHub.connectedCount).toBe(0), { timeout: 30_000, interval: 50 });
  const child = spawn(process.execPath, [MAIN], {
    env: {
      PATH: process.env.PATH,
      ATELIER_SERVER_URL: server.url,
      ATELIER_RUNNER_TOKEN: await server.createRunnerToken(),
      ATELIER_MODEL_DIR: join(dir, 'model'),
      ATELIER_RUNNER_NAME: name,
      ATELIER_PREVIEW_EVERY: '0',
      LOG_LEVEL: 'info',
      ...env,
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const lines: LogLine[] = [];
  let pending = '';
  child.stderr.on('data', (chunk: Buffer) => {
    pending += chunk.toString('utf8');
    const complete = pending.split('\n');
    pending = complete.pop()!;
    for (const line of complete) if (line.startsWith('{')) lines.push(JSON.parse(line) as LogLine);
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const runner = { child, lines, exited };
  runners.push(runner);
  await logged(runner, 'connected to server');
  return runner;
}

async function logged(runner: RunnerProcess, msg: string, jobId?: string): Promise<LogLine> {
  return vi.waitFor(
    () => {
      const line = runner.lines.find((l) => l.msg === msg && (jobId === undefined || l.jobId === jobId));
      if (!line) throw new Error(`runner has not logged "${msg}"`);
      return line;
    },
    { timeout: 60_000, interval: 50 },
  );
}

const index = (runner: RunnerProcess, msg: string) => runner.lines.findIndex((l) => l.msg === msg);

beforeAll(async () => {
  server = await startTestServer();
  tenant = await server.createTenant();
  dir = await mkdtemp(join(tmpdir(), 'runner-drain-'));
  await ensureModel(join(dir, 'model'));
}, 60_000);

afterAll(async () => {
  for (const { child, exited } of runners) {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await exited;
    }
  }
  await server?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('stopping atelier-runner', () => {
  it('finishes the job in flight on SIGTERM, takes no other, and exits 0', async () => {
    const runner = await startRunner('drain-finish');
    const id = await createGeneration(server, tenant.secretKey, LONG_JOB);
    const next = await createGeneration(server, tenant.secretKey, LONG_JOB);
    await logged(runner, 'job started', id);

    runner.child.kill('SIGTERM');
    // Told while the job ran: the drain names it.
    expect((await logged(runner, 'draining')).jobId).toBe(id);
    expect(await runner.exited).toBe(0);

    expect(index(runner, 'job finished')).toBeGreaterThan(index(runner, 'draining'));
    expect((await logged(runner, 'drained')).outcome).toBe('finished');
    const view = await viewGeneration(server, tenant.secretKey, id);
    expect(view.status).toBe('succeeded');
    expect(view.images).toHaveLength(1);
    expect((await readJob(server, id)).attempts).toBe(1);
    // It said `ready` no more: the second job was never leased, and waits for a runner.
    expect((await readJob(server, next)).attempts).toBe(0);
    expect(runner.lines.some((l) => l.msg === 'job started' && l.jobId === next)).toBe(false);
    await runWithTenant(tenant.tenantId, () => server.services.queue.cancel(next));
  }, 180_000);

  it('hands the job back on a second SIGTERM; the server requeues it without backoff and another runner completes it', async () => {
    const first = await startRunner('drain-abandon');
    const leftover = await createGeneration(server, tenant.secretKey, LONG_JOB);
    await logged(first, 'job started', leftover);

    first.child.kill('SIGTERM');
    await logged(first, 'draining');
    first.child.kill('SIGTERM');
    expect(await first.exited).toBe(0);
    expect(first.lines.some((l) => l.msg === 'job finished' && l.jobId === leftover)).toBe(false);
    expect((await logged(first, 'drained')).outcome).toBe('abandoned');

    const second = await startRunner('drain-takeover');
    await logged(second, 'job finished', leftover);
    await vi.waitFor(async () => expect((await viewGeneration(server, tenant.secretKey, leftover)).status).toBe('succeeded'), {
      timeout: 30_000,
      interval: 100,
    });
    const history = await runWithTenant(tenant.tenantId, () => server.services.queue.history(leftover));
    const requeue = history.find((transition) => transition.kind === 'fail');
    expect(requeue).toMatchObject({ from: 'running', set: { status: 'queued', error: { code: 'runner_disconnected' } } });
    // No retry backoff: runnable again the moment it was handed back.
    expect(requeue!.set.notBefore!.getTime()).toBeLessThanOrEqual(requeue!.at.getTime());
    expect(history.filter((transition) => transition.kind === 'claim')).toHaveLength(2);
    expect(history.at(-1)).toMatchObject({ kind: 'complete', epoch: requeue!.epoch + 1 });
    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);
  }, 180_000);

  it('hands the job back when the drain timeout runs out', async () => {
    const runner = await startRunner('drain-timeout', { ATELIER_RUNNER_DRAIN_MS: '200' });
    const id = await createGeneration(server, tenant.secretKey, LONG_JOB);
    await logged(runner, 'job started', id);
    runner.child.kill('SIGTERM');
    expect(await runner.exited).toBe(0);
    expect((await logged(runner, 'drained')).outcome).toBe('abandoned');
    await vi.waitFor(async () => {
      const job = await readJob(server, id);
      expect(job).toMatchObject({ status: 'queued', attempts: 1, error: { code: 'runner_disconnected' } });
      expect(job.notBefore.getTime()).toBeLessThanOrEqual(Date.now());
    });
  }, 180_000);
});
