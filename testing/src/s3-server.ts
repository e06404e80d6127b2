import { spawn } from 'node:child_process';
import { inject } from 'vitest';
import { describeGoError, ensureGoBinary } from '@atelier/runtime';
import { loadConfig } from '@atelier/server';
import { forgetSpawned, recordSpawned } from './spawned-processes.js';

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
    binary = await ensureGoBinary(loadConfig({ ...process.env, MONGODB_URI: '' }).cacheDir, {
      module: GOFAKES3_MODULE,
      version: GOFAKES3_VERSION,
      command: './cmd/gofakes3',
      name: 'gofakes3',
    });
  } catch (error) {
    return { ok: false, reason: `could not build gofakes3 ${GOFAKES3_VERSION}: ${describeGoError(error)}` };
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
