import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * A record, shared by every test worker of a run, of the server processes tests have
 * spawned. A test that times out never reaches its cleanup and its worker is stopped
 * without running exit handlers, so the run's global teardown ends whatever is left.
 * One file per process, named by its pid, holding the command line it was started with.
 */
export async function recordSpawned(dir: string, pid: number, commandLine: string): Promise<void> {
  await writeFile(join(dir, String(pid)), commandLine);
}

export async function forgetSpawned(dir: string, pid: number): Promise<void> {
  await rm(join(dir, String(pid)), { force: true });
}

/** SIGKILLs every recorded process still running the command it was recorded with (a pid may have been reused). */
export async function killLeftovers(dir: string): Promise<void> {
  for (const name of await readdir(dir).catch(() => [])) {
    const recorded = await readFile(join(dir, name), 'utf8');
    const running = await readFile(`/proc/${name}/cmdline`, 'utf8').catch(() => undefined);
    if (running?.split('\0').join(' ').trim() === recorded) {
      try {
        process.kill(Number(name), 'SIGKILL');
      } catch {
        // It exited meanwhile.
      }
    }
    await rm(join(dir, name), { force: true });
  }
}
