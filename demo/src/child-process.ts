import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { backoffDelay, type BackoffOptions } from '@atelier/protocol';

export interface ManagedProcess {
  name: string;
  child: ChildProcess;
  /** The last lines it wrote, to explain an early exit. */
  recentOutput(): string[];
  /** Resolves when the process has exited. */
  exited: Promise<ProcessExit>;
  stop(): Promise<void>;
}

/** How a child process ended: its exit code, or the signal that killed it. */
export interface ProcessExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface SpawnOptions {
  name: string;
  script: string;
  env: NodeJS.ProcessEnv;
  /** Receives each line the process writes (its logs); silent when omitted. */
  onLine?: (line: string) => void;
}

/** Runs a Node script as a child process that is stopped with SIGTERM (then SIGKILL). */
export function spawnNode(options: SpawnOptions): ManagedProcess {
  const child = spawn(process.execPath, [options.script], {
    env: options.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const recent: string[] = [];
  for (const stream of [child.stdout, child.stderr]) {
    createInterface({ input: stream }).on('line', (line) => {
      recent.push(line);
      if (recent.length > 20) recent.shift();
      options.onLine?.(line);
    });
  }
  const exited = new Promise<ProcessExit>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  let stopping: Promise<void> | undefined;
  return {
    name: options.name,
    child,
    recentOutput: () => [...recent],
    exited,
    stop: () =>
      (stopping ??= (async () => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        child.kill('SIGTERM');
        const done = await Promise.race([exited.then(() => true), sleep(10_000).then(() => false)]);
        if (!done) {
          child.kill('SIGKILL');
          await exited;
        }
      })()),
  };
}

export interface SupervisionOptions {
  /** The delay before each restart, by how many crashes the current window holds. */
  backoff?: BackoffOptions;
  /** Give up once this many crashes fall within `windowMs`: it will not get better by itself. */
  maxCrashes?: number;
  windowMs?: number;
  /** Lines for the demo's own log: which process died, how, and what happens next. */
  onNote?: (message: string) => void;
  /** Called once, with the reason, when the supervisor stops restarting a process that keeps dying. */
  onGiveUp?: (message: string) => void;
  /** True while the demo itself is stopping: a child that exits then is not restarted. */
  stopping?: () => boolean;
}

export const DEFAULT_SUPERVISION = { backoff: { initialMs: 500, maxMs: 10_000 }, maxCrashes: 5, windowMs: 60_000 } as const;

/** A process kept running: a new child each time the last one dies. */
export interface SupervisedProcess {
  name: string;
  /** The child running now (or the last one, once none will run any more). */
  readonly child: ChildProcess;
  /** How many times it has been restarted. */
  readonly restarts: number;
  recentOutput(): string[];
  /** Resolves, with the last child's exit, once no child will run any more: stopped, failed to start, or given up on. */
  exited: Promise<ProcessExit>;
  /**
   * From now on a child that dies is restarted. Until then (while it starts) an exit
   * means the start failed, which a restart would not mend: `exited` says so at once.
   */
  supervise(): void;
  /** Stops the child; nothing is restarted after this. */
  stop(): Promise<void>;
}

/**
 * Runs a Node script and restarts it when it dies, after a backoff with full jitter,
 * with a note in the demo's log each time; gives up with a clear message after
 * `maxCrashes` crashes within `windowMs`. As systemd's `Restart=on-failure`, a clean
 * exit (code 0: someone stopped it, a Ctrl-C in the terminal reaches every child) is
 * not restarted, nor is any exit while the demo is stopping.
 */
export function spawnSupervised(options: SpawnOptions & SupervisionOptions): SupervisedProcess {
  const backoff = options.backoff ?? DEFAULT_SUPERVISION.backoff;
  const maxCrashes = options.maxCrashes ?? DEFAULT_SUPERVISION.maxCrashes;
  const windowMs = options.windowMs ?? DEFAULT_SUPERVISION.windowMs;
  const note = options.onNote ?? (() => {});

  let current = spawnNode(options);
  let restarts = 0;
  let supervising = false;
  let stopped = false;
  let pending: NodeJS.Timeout | undefined;
  const crashes: number[] = [];
  let finish!: (exit: ProcessExit) => void;
  const exited = new Promise<ProcessExit>((resolve) => (finish = resolve));

  const watch = (managed: ManagedProcess) => {
    void managed.exited.then((exit) => {
      if (stopped || !supervising || options.stopping?.()) return finish(exit);
      if (exit.code === 0) {
        note(`${options.name} (pid ${managed.child.pid}) stopped (exit code 0); not restarting it`);
        return finish(exit);
      }
      const now = Date.now();
      crashes.push(now);
      while (crashes.length > 0 && crashes[0]! <= now - windowMs) crashes.shift();
      const how = describeExit(exit);
      if (crashes.length >= maxCrashes) {
        const lines = managed.recentOutput().slice(-5);
        const message =
          `${options.name} (pid ${managed.child.pid}) ${how}: it died ${crashes.length} times within ${Math.round(windowMs / 1000)} s, ` +
          `so it is not restarted again${lines.length > 0 ? `. Its last lines:\n  ${lines.join('\n  ')}` : ''}`;
        note(message);
        options.onGiveUp?.(message);
        return finish(exit);
      }
      const delay = backoffDelay(crashes.length, backoff);
      note(`${options.name} (pid ${managed.child.pid}) ${how}; restarting it in ${(delay / 1000).toFixed(1)} s`);
      pending = setTimeout(() => {
        pending = undefined;
        if (stopped || options.stopping?.()) return finish(exit);
        restarts += 1;
        current = spawnNode(options);
        watch(current);
        note(`${options.name} restarted (pid ${current.child.pid})`);
      }, delay);
    });
  };
  watch(current);

  return {
    name: options.name,
    get child() {
      return current.child;
    },
    get restarts() {
      return restarts;
    },
    recentOutput: () => current.recentOutput(),
    exited,
    supervise: () => {
      supervising = true;
    },
    stop: async () => {
      stopped = true;
      if (pending) {
        clearTimeout(pending);
        pending = undefined;
        finish(await current.exited);
      }
      await current.stop();
      await exited;
    },
  };
}

function describeExit({ code, signal }: ProcessExit): string {
  return signal ? `was killed by ${signal}` : `exited with code ${code ?? 'unknown'}`;
}

/** Polls `check` until it returns true, failing early if `process` exits. */
export async function waitFor(
  what: string,
  check: () => Promise<boolean>,
  options: { timeoutMs: number; process?: Pick<ManagedProcess, 'name' | 'recentOutput' | 'exited'> },
): Promise<void> {
  const deadline = Date.now() + options.timeoutMs;
  let exited = false;
  void options.process?.exited.then(() => {
    exited = true;
  });
  while (Date.now() < deadline) {
    if (exited) {
      const output = options.process?.recentOutput().slice(-5).join('\n  ') ?? '';
      throw new Error(`${options.process?.name} exited before ${what}${output ? `:\n  ${output}` : ''}`);
    }
    if (await check().catch(() => false)) return;
    await sleep(100);
  }
  throw new Error(`timed out after ${options.timeoutMs} ms waiting for ${what}`);
}
