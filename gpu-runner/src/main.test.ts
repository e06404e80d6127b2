import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { RunnerBody } from '@atelier/protocol';
import { startTestServer, type TestServer } from '@atelier/testing';
import { ensureModel } from './model/ensure-model.js';
import { planProviders, probeHost } from './onnx/execution-provider.js';

/** `atelier-runner` as a process (the built dist/main.js), against a real server. */
const MAIN = fileURLToPath(new URL('../dist/main.js', import.meta.url));

let server: TestServer;
let dir: string;
let runner: ChildProcess;
const lines: { msg?: string; [field: string]: unknown }[] = [];

beforeAll(async () => {
  server = await startTestServer();
  dir = await mkdtemp(join(tmpdir(), 'runner-main-'));
  await ensureModel(join(dir, 'model'));
  runner = spawn(process.execPath, [MAIN], {
    env: {
      PATH: process.env.PATH,
      ATELIER_SERVER_URL: server.url,
      ATELIER_RUNNER_TOKEN: await server.createRunnerToken(),
      ATELIER_MODEL_DIR: join(dir, 'model'),
      ATELIER_RUNNER_NAME: 'main-test',
      LOG_LEVEL: 'info',
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let pending = '';
  runner.stderr!.on('data', (chunk: Buffer) => {
    pending += chunk.toString('utf8');
    const complete = pending.split('\n');
    pending = complete.pop()!;
    for (const line of complete) if (line.startsWith('{')) lines.push(JSON.parse(line) as (typeof lines)[number]);
  });
}, 60_000);

afterAll(async () => {
  if (runner && runner.exitCode === null) {
    const exited = new Promise((resolve) => runner.once('exit', resolve));
    runner.kill('SIGTERM');
    await exited;
  }
  await server?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('atelier-runner', () => {
  it('warms up before it connects, and reports its provider and why it fell back', async () => {
    await vi.waitFor(() => expect(lines.some((l) => l.msg === 'connected to server')).toBe(true), {
      timeout: 60_000,
      interval: 100,
    });
    const index = (msg: string) => lines.findIndex((l) => l.msg === msg);
    expect(index('warmed up')).toBeGreaterThan(index('model loaded'));
    expect(index('warmed up')).toBeLessThan(index('connected to server'));

    const plan = planProviders('auto', probeHost());
    const loaded = lines[index('model loaded')]!;
    // The first candidate unless it failed to load (then the failure is among the fallbacks).
    expect(plan.candidates).toContain(loaded.provider);
    expect(loaded.preference).toBe('auto');
    expect(loaded.fallbacks).toEqual(expect.arrayContaining(plan.skipped));
    const tried = plan.candidates.indexOf(loaded.provider as (typeof plan.candidates)[number]);
    expect(loaded.fallbacks).toHaveLength(plan.skipped.length + tried);

    const response = await server.admin('/admin/v1/runners');
    const { data } = (await response.json()) as { data: RunnerBody[] };
    expect(data.find((r) => r.name === 'main-test')?.capabilities).toMatchObject({
      models: ['model'],
      provider: loaded.provider,
      fallbacks: loaded.fallbacks,
    });
  });
});

describe('atelier-runner without an output classifier', () => {
  const run = (env: Record<string, string>) =>
    new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, [MAIN], {
        env: { PATH: process.env.PATH, ATELIER_SERVER_URL: server.url, ATELIER_RUNNER_TOKEN: `rt_${'A'.repeat(43)}`, ...env },
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      let stderr = '';
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
      child.once('exit', (code) => resolve({ code, stderr }));
    });

  it('refuses to start on a model directory that has none, naming ATELIER_SAFETY_MODEL', async () => {
    const { code, stderr } = await run({ ATELIER_MODEL_DIR: join(dir, 'real-export-without-one') });
    expect(code).toBe(1);
    expect(stderr.trim().split('\n')).toHaveLength(1);
    expect(stderr).toContain('ATELIER_SAFETY_MODEL is required');
    expect(stderr).toContain('off');
  });

  it('refuses a classifier path that does not exist', async () => {
    const missing = join(dir, 'no-such-classifier');
    const { code, stderr } = await run({ ATELIER_MODEL_DIR: join(dir, 'model'), ATELIER_SAFETY_MODEL: missing });
    expect(code).toBe(1);
    expect(stderr.trim()).toBe(`atelier-runner: invalid configuration: ATELIER_SAFETY_MODEL: ${missing} does not exist`);
  });
});
