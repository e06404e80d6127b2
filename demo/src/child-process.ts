import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';

export interface ManagedProcess {
  name: string;
  child: ChildProcess;
  /** The last lines it wrote, to explain an early exit. */
  recentOutput(): string[];
  /** Resolves when the process has exited. */
  exited: Promise<number | null>;
  stop(): Promise<void>;
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
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
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

/** Polls `check` until it returns true, failing early if `process` exits. */
export async function waitFor(
  what: string,
  check: () => Promise<boolean>,
  options: { timeoutMs: number; process?: ManagedProcess },
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
