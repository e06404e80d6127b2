import { execFile, spawn } from 'node:child_process';
import { constants } from 'node:fs';
import { access, mkdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { inject } from 'vitest';
import { loadConfig } from '@atelier/server';
import { forgetSpawned, recordSpawned } from './spawned-processes.js';

const run = promisify(execFile);

/**
 * gofakes3: an S3 server (the S3 REST protocol: SigV4-signed requests, ListObjectsV2
 * paging, multi-object delete, ranged GET) written in Go, with an in-memory backend.
 * We cannot reach AWS from here; this is the real protocol spoken over a real socket,
 * which is what the S3 adapter's contract needs.
 */
export const GOFAKES3_MODULE = 'github.com/johannesboyne/gofakes3';
export const GOFAKES3_VERSION = 'v1.2.0';

export interface S3Server {
  endpoint: string;
  bucket: string;
  region: string;
  /** Any pair works (gofakes3 does not check signatures); the SDK needs one to sign with. */
  credentials: { accessKeyId: string; secretAccessKey: string };
  stop(): Promise<void>;
}

export type S3ServerStart = { ok: true; server: S3Server } | { ok: false; reason: string };

/**
 * Builds gofakes3 once into the cache dir (as the server builds FerretDB: `go mod
 * download` the module, then `go build` its own `cmd/gofakes3`; `go install pkg@version`
 * is refused by the module proxy reachable here) and starts it on a free port with one
 * empty bucket. Answers why not when it cannot: no Go toolchain, no module proxy.
 */
export async function startS3Server(): Promise<S3ServerStart> {
  let binary: string;
  try {
    binary = await ensureGoFakeS3(loadConfig({ ...process.env, MONGODB_URI: '' }).cacheDir);
  } catch (error) {
    return { ok: false, reason: `could not build gofakes3 ${GOFAKES3_VERSION}: ${describe(error)}` };
  }
  const bucket = 'atelier-contract';
  const args = ['-backend', 'memory', '-host', '127.0.0.1:0', '-initialbucket', bucket, '-quiet'];
  const child = spawn(binary, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  const spawned = inject('spawnedDir');
  if (child.pid !== undefined) await recordSpawned(spawned, child.pid, [binary, ...args].join(' '));
  const exited = new Promise<void>((resolve) =>
    child.once('exit', () => {
      if (child.pid !== undefined) void forgetSpawned(spawned, child.pid);
      resolve();
    }),
  );
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
  };

  let output = '';
  const port = await new Promise<number | undefined>((resolve) => {
    // It prints `using port: N` once it listens (with -quiet, that is all it prints).
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      output += chunk;
      const match = /using port: (\d+)/.exec(output);
      if (match) resolve(Number(match[1]));
    });
    child.once('error', (error) => {
      output += error.message;
      resolve(undefined);
    });
    void exited.then(() => resolve(undefined));
  });
  if (port === undefined) {
    await stop();
    return { ok: false, reason: `gofakes3 did not start: ${output.trim().split('\n').slice(-3).join(' | ')}` };
  }
  return {
    ok: true,
    server: {
      endpoint: `http://127.0.0.1:${port}`,
      bucket,
      region: 'us-east-1',
      credentials: { accessKeyId: 'contract-test', secretAccessKey: 'contract-test-secret' },
      stop,
    },
  };
}

async function ensureGoFakeS3(cacheDir: string): Promise<string> {
  const binary = join(cacheDir, `gofakes3-${GOFAKES3_VERSION}`, 'gofakes3');
  if (await isExecutable(binary)) return binary;
  await mkdir(cacheDir, { recursive: true });
  const env = { ...process.env, GOTOOLCHAIN: 'local', GOFLAGS: '-mod=mod' };
  const { stdout } = await run('go', ['mod', 'download', '-json', `${GOFAKES3_MODULE}@${GOFAKES3_VERSION}`], {
    env,
    cwd: cacheDir,
    maxBuffer: 16 * 1024 * 1024,
  });
  const moduleDir = (JSON.parse(stdout) as { Dir?: string }).Dir;
  if (!moduleDir) throw new Error(`'go mod download' reported no directory for ${GOFAKES3_MODULE}`);
  // Built into a file of this process's own and renamed into place, so two test runs
  // building at once each finish with a whole binary and nobody runs half of one.
  const staged = `${binary}.tmp-${process.pid}`;
  await mkdir(join(cacheDir, `gofakes3-${GOFAKES3_VERSION}`), { recursive: true });
  try {
    await run('go', ['build', '-trimpath', '-o', staged, './cmd/gofakes3'], { env, cwd: moduleDir, maxBuffer: 16 * 1024 * 1024 });
    await rename(staged, binary);
  } finally {
    await rm(staged, { force: true });
  }
  return binary;
}

async function isExecutable(path: string): Promise<boolean> {
  try {
    await access(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function describe(error: unknown): string {
  if ((error as NodeJS.ErrnoException).code === 'ENOENT') return "the Go toolchain ('go') is not on PATH";
  if (error && typeof error === 'object' && 'stderr' in error && typeof error.stderr === 'string' && error.stderr) {
    return error.stderr.trim().split('\n').slice(-3).join(' | ');
  }
  return error instanceof Error ? error.message : String(error);
}
