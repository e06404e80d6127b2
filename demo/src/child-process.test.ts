import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { spawnSupervised, type SupervisedProcess, type SupervisionOptions } from './child-process.js';

/**
 * The supervisor against real child processes: tiny Node scripts that run until
 * signalled, exit with a code on demand, or die as soon as they start.
 */
let dir: string;
let marker: string;
const running: SupervisedProcess[] = [];

/**
 * Waits until signalled: SIGUSR2 makes it exit with code 3, SIGHUP with code 0. It says it
 * is up (with its pid) only once its handlers are in place: a test signals it as soon as it
 * reads that line, and a signal that came first would kill it by the default action.
 */
const SERVICE = `
process.on('SIGUSR2', () => process.exit(3));
process.on('SIGHUP', () => process.exit(0));
setInterval(() => {}, 60_000);
console.log('up ' + process.pid);
`;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'atelier-supervisor-'));
  marker = join(dir, 'started-once');
  await writeFile(join(dir, 'service.mjs'), SERVICE);
  // Runs once; every later start dies at once (a process that cannot come back).
  await writeFile(
    join(dir, 'crash-loop.mjs'),
    `import { existsSync, writeFileSync } from 'node:fs';
if (existsSync(${JSON.stringify(marker)})) { console.error('cannot start: state is corrupt'); process.exit(1); }
writeFileSync(${JSON.stringify(marker)}, '');
${SERVICE}`,
  );
});

afterEach(async () => {
  await Promise.all(running.splice(0).map((process) => process.stop()));
  await rm(marker, { force: true });
});

afterAll(() => rm(dir, { recursive: true, force: true }));

function start(script: string, options: SupervisionOptions = {}) {
  const notes: string[] = [];
  const lines: string[] = [];
  const supervised = spawnSupervised({
    name: 'service',
    script: join(dir, script),
    env: process.env,
    onLine: (line) => lines.push(line),
    onNote: (message) => notes.push(message),
    backoff: { initialMs: 20, maxMs: 100 },
    ...options,
  });
  running.push(supervised);
  return { supervised, notes, lines };
}

const upLines = (lines: string[]) => lines.filter((line) => line.startsWith('up '));

describe('spawnSupervised', () => {
  it.each([
    ['SIGKILL', 'was killed by SIGKILL'],
    ['SIGUSR2', 'exited with code 3'],
  ] as const)('restarts a child that dies (%s) and says so in the log', async (signal, how) => {
    const { supervised, notes, lines } = start('service.mjs');
    await vi.waitFor(() => expect(upLines(lines)).toHaveLength(1));
    supervised.supervise();
    const first = supervised.child.pid!;

    process.kill(first, signal);
    await vi.waitFor(() => expect(upLines(lines)).toHaveLength(2));
    expect(supervised.restarts).toBe(1);
    expect(supervised.child.pid).not.toBe(first);
    expect(upLines(lines)[1]).toBe(`up ${supervised.child.pid}`);
    expect(notes).toEqual([
      expect.stringMatching(new RegExp(`^service \\(pid ${first}\\) ${how}; restarting it in \\d+\\.\\d s$`)),
      `service restarted (pid ${supervised.child.pid})`,
    ]);
  });

  it('does not restart a child that stops cleanly (exit code 0), and says so', async () => {
    const { supervised, notes, lines } = start('service.mjs');
    await vi.waitFor(() => expect(upLines(lines)).toHaveLength(1));
    supervised.supervise();
    const pid = supervised.child.pid!;
    process.kill(pid, 'SIGHUP');
    expect(await supervised.exited).toEqual({ code: 0, signal: null });
    expect(supervised.restarts).toBe(0);
    expect(notes).toEqual([`service (pid ${pid}) stopped (exit code 0); not restarting it`]);
  });

  it('does not restart a child it was told to stop', async () => {
    const { supervised, notes, lines } = start('service.mjs');
    await vi.waitFor(() => expect(upLines(lines)).toHaveLength(1));
    supervised.supervise();
    await supervised.stop();
    expect(await supervised.exited).toEqual({ code: null, signal: 'SIGTERM' });
    expect(supervised.restarts).toBe(0);
    expect(notes).toEqual([]);
  });

  it('does not restart anything while the demo is stopping', async () => {
    let stopping = false;
    const { supervised, notes, lines } = start('service.mjs', { stopping: () => stopping });
    await vi.waitFor(() => expect(upLines(lines)).toHaveLength(1));
    supervised.supervise();
    stopping = true;
    process.kill(supervised.child.pid!, 'SIGKILL');
    expect(await supervised.exited).toEqual({ code: null, signal: 'SIGKILL' });
    expect(supervised.restarts).toBe(0);
    expect(notes).toEqual([]);
  });

  it('a child that dies before it is supervised (a failed start) ends supervision at once', async () => {
    await writeFile(marker, '');
    const { supervised, notes } = start('crash-loop.mjs');
    expect(await supervised.exited).toEqual({ code: 1, signal: null });
    expect(supervised.restarts).toBe(0);
    expect(notes).toEqual([]);
    expect(supervised.recentOutput()).toEqual(['cannot start: state is corrupt']);
  });

  it('gives up with a clear message after maxCrashes crashes within the window', async () => {
    const gaveUp: string[] = [];
    const { supervised, notes, lines } = start('crash-loop.mjs', {
      maxCrashes: 3,
      windowMs: 60_000,
      onGiveUp: (m) => gaveUp.push(m),
    });
    await vi.waitFor(() => expect(upLines(lines)).toHaveLength(1));
    supervised.supervise();
    process.kill(supervised.child.pid!, 'SIGKILL');

    expect(await supervised.exited).toEqual({ code: 1, signal: null });
    // The first death and two failed restarts: three crashes.
    expect(supervised.restarts).toBe(2);
    expect(gaveUp).toEqual([
      expect.stringMatching(
        /^service \(pid \d+\) exited with code 1: it died 3 times within 60 s, so it is not restarted again\. Its last lines:\n {2}cannot start: state is corrupt$/,
      ),
    ]);
    expect(notes.at(-1)).toBe(gaveUp[0]);
    expect(notes.filter((note) => note.includes('restarting it in'))).toHaveLength(2);
  });
});
