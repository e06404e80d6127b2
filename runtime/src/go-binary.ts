import { execFile } from 'node:child_process';
import { constants } from 'node:fs';
import { access, cp, mkdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { withDirectoryLock } from './directory-lock.js';

const run = promisify(execFile);

export interface GoBinary {
  /** The Go module, e.g. `github.com/FerretDB/FerretDB`. */
  module: string;
  version: string;
  /** The command's package inside the module, e.g. `./cmd/ferretdb`. */
  command: string;
  /** The binary's file name; it lands in `<cacheDir>/<name>-<version>/<name>`. */
  name: string;
  /** Changes a writable copy of the module before the build (a file its release tooling would generate). */
  prepare?: (workDir: string) => Promise<void>;
}

/**
 * Returns the path of a Go command's binary, building it once into the cache.
 *
 * This is what `go install <module>/<command>@<version>` would do, done by hand: the
 * module proxy reachable here refuses the version-list request `go install pkg@version`
 * makes for its deprecation check (403). So the module is fetched with `go mod
 * download`, copied where it may be changed, and built with the local toolchain into a
 * staged directory that is renamed into place: a crash mid-build leaves no half binary,
 * and two processes building at once wait on one lock instead of racing.
 */
export async function ensureGoBinary(cacheDir: string, spec: GoBinary, onBuild: () => void = () => {}): Promise<string> {
  const installDir = join(cacheDir, `${spec.name}-${spec.version}`);
  const binary = join(installDir, spec.name);
  if (await isExecutable(binary)) return binary;

  await mkdir(cacheDir, { recursive: true });
  return withDirectoryLock(join(cacheDir, `${spec.name}-${spec.version}.lock`), async () => {
    // Another process may have finished the build while this one waited for the lock.
    if (await isExecutable(binary)) return binary;
    onBuild();
    const env = { ...process.env, GOTOOLCHAIN: 'local', GOFLAGS: '-mod=mod' };
    const { stdout } = await run('go', ['mod', 'download', '-json', `${spec.module}@${spec.version}`], {
      env,
      cwd: cacheDir,
      maxBuffer: 16 * 1024 * 1024,
    }).catch((error: unknown) => {
      throw new Error(`could not download ${spec.module}@${spec.version} with the Go toolchain: ${describeGoError(error)}`);
    });
    const moduleDir = (JSON.parse(stdout) as { Dir?: string }).Dir;
    if (!moduleDir) throw new Error(`'go mod download' did not report a directory for ${spec.module}`);

    const workDir = join(cacheDir, `${spec.name}-build-${process.pid}`);
    const stagedDir = `${installDir}.tmp-${process.pid}`;
    await Promise.all([rm(workDir, { recursive: true, force: true }), rm(stagedDir, { recursive: true, force: true })]);
    try {
      // The module cache is read-only: build from a copy.
      await cp(moduleDir, workDir, { recursive: true });
      await run('chmod', ['-R', 'u+w', workDir]);
      await spec.prepare?.(workDir);
      await mkdir(stagedDir, { recursive: true });
      await run('go', ['build', '-trimpath', '-o', join(stagedDir, spec.name), spec.command], {
        env: { ...env, GOFLAGS: '' },
        cwd: workDir,
        maxBuffer: 16 * 1024 * 1024,
      }).catch((error: unknown) => {
        throw new Error(`could not build ${spec.name} ${spec.version}: ${describeGoError(error)}`, { cause: error });
      });
      await rm(installDir, { recursive: true, force: true });
      await rename(stagedDir, installDir);
    } finally {
      await Promise.all([rm(workDir, { recursive: true, force: true }), rm(stagedDir, { recursive: true, force: true })]);
    }
    return binary;
  });
}

/** A Go tool's failure in a line: no toolchain, or the last lines it printed. */
export function describeGoError(error: unknown): string {
  if ((error as NodeJS.ErrnoException).code === 'ENOENT') return "the Go toolchain ('go') is not on PATH";
  if (error && typeof error === 'object' && 'stderr' in error && typeof error.stderr === 'string' && error.stderr) {
    return error.stderr.trim().split('\n').slice(-5).join(' | ');
  }
  return error instanceof Error ? error.message : String(error);
}

async function isExecutable(path: string): Promise<boolean> {
  try {
    await access(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}
