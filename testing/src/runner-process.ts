import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { inject, vi } from 'vitest';
import { forgetSpawned, recordSpawned } from './spawned-processes.js';

/** The built runner's entry point (`npm test` builds before it runs the tests). */
const MAIN = join(dirname(createRequire(import.meta.url).resolve('@atelier/gpu-runner/package.json')), 'dist', 'main.js');

/** One line of the runner's pino log (JSON on stderr). */
export interface RunnerLogLine {
  msg?: string;
  jobId?: string;
  epoch?: number;
  runnerId?: string;
  reason?: string;
  [field: string]: unknown;
}

export interface RunnerProcess {
  name: string;
  pid: number;
  /** Every log line so far, in order (info and above). */
  readonly lines: readonly RunnerLogLine[];
  /** The job it works on now, by its own log: started, and neither finished, aborted nor failed since. */
  current(): { jobId: string; epoch: number } | undefined;
  /** Resolves with the first line (already logged or to come) that matches. */
  logged(match: (line: RunnerLogLine) => boolean, timeoutMs?: number): Promise<RunnerLogLine>;
  /** Not exited (a stopped process is alive). */
  alive(): boolean;
  signal(name: NodeJS.Signals): void;
  /** SIGKILL, as a crash, and waits for the exit. */
  kill(): Promise<void>;
  /** SIGTERM (after a SIGCONT, should it be stopped) and waits for the exit. */
  stop(): Promise<void>;
  readonly exited: Promise<void>;
  /** The last lines it wrote, to explain a failure (never printed otherwise). */
  output(): string;
}

export interface RunnerProcessOptions {
  serverUrl: string;
  token: string;
  name: string;
  env?: Record<string, string>;
}

/**
 * `atelier-runner` (gpu-runner's dist/main.js) as its own process, on the generated tiny
 * model (its default model dir; generating it is safe to race), logging at info so the
 * test can follow which job it runs. Resolves once it is spawned; `logged` waits for it
 * to connect.
 */
export async function startRunnerProcess(options: RunnerProcessOptions): Promise<RunnerProcess> {
  const child = spawn(process.execPath, [MAIN], {
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? tmpdir(),
      LOG_LEVEL: 'info',
      ATELIER_SERVER_URL: options.serverUrl,
      ATELIER_RUNNER_TOKEN: options.token,
      ATELIER_RUNNER_NAME: options.name,
      ATELIER_EXECUTION_PROVIDER: 'cpu',
      ATELIER_PREVIEW_EVERY: '0',
      ...options.env,
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const spawned = inject('spawnedDir');
  await recordSpawned(spawned, child.pid!, [process.execPath, MAIN].join(' '));
  const exited = new Promise<void>((resolve) =>
    child.once('exit', () => {
      void forgetSpawned(spawned, child.pid!);
      resolve();
    }),
  );

  const lines: RunnerLogLine[] = [];
  const raw: string[] = [];
  let pending = '';
  child.stderr.on('data', (chunk: Buffer) => {
    pending += chunk.toString('utf8');
    const complete = pending.split('\n');
    pending = complete.pop()!;
    for (const line of complete) {
      raw.push(line);
      if (!line.startsWith('{')) continue;
      try {
        lines.push(JSON.parse(line) as RunnerLogLine);
      } catch {
        // A line cut by a crash; the raw copy explains it.
      }
    }
    raw.splice(0, Math.max(0, raw.length - 60));
  });

  const current = () => {
    let job: { jobId: string; epoch: number } | undefined;
    for (const line of lines) {
      if (line.msg === 'job started') job = { jobId: line.jobId!, epoch: line.epoch! };
      else if (line.msg === DISCONNECTED || (line.jobId === job?.jobId && ENDED.has(line.msg ?? ''))) job = undefined;
    }
    return job;
  };
  const alive = () => child.exitCode === null && child.signalCode === null;
  const signal = (name: NodeJS.Signals) => {
    if (alive()) child.kill(name);
  };
  return {
    name: options.name,
    pid: child.pid!,
    lines,
    current,
    logged: (match, timeoutMs = 30_000) =>
      vi.waitFor(
        () => {
          const found = lines.find(match);
          if (!found) throw new Error(`${options.name} has not logged the line waited for:\n${raw.join('\n')}`);
          return found;
        },
        { timeout: timeoutMs, interval: 20 },
      ),
    alive,
    signal,
    kill: async () => {
      signal('SIGKILL');
      await exited;
    },
    stop: async () => {
      signal('SIGCONT');
      signal('SIGTERM');
      const timer = setTimeout(() => signal('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
    exited,
    output: () => raw.join('\n'),
  };
}

/**
 * The runner's log lines that end the job it is on (runner-client.ts). A job given up
 * (`abandoning job`) may run on to its end without another line, and a lost connection
 * abandons the job in silence.
 */
const ENDED = new Set(['job finished', 'job aborted', 'job failed', 'abandoning job']);
export const DISCONNECTED = 'disconnected from server; reconnecting';
