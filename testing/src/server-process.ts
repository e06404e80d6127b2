import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { inject, vi } from 'vitest';
import type { HealthBody } from '@atelier/protocol';
import { connectDatabase, type Database } from '@atelier/server';
import { forgetSpawned, recordSpawned } from './spawned-processes.js';
import { dropDatabase, freshDatabaseUri } from './test-database.js';
import { TEST_ADMIN_TOKEN, TEST_SIGNING_SECRET } from './test-server.js';

/** The built server's entry point (`npm test` builds before it runs the tests). */
const MAIN = join(dirname(createRequire(import.meta.url).resolve('@atelier/server/package.json')), 'dist', 'main.js');
/** Lines of a child's stderr kept to explain a failure (never printed otherwise). */
const KEPT_LINES = 60;

export interface ServerProcess {
  /** e.g. `http://127.0.0.1:40123` */
  url: string;
  pid: number;
  admin(path: string, body?: unknown): Promise<Response>;
  api(secretKey: string, path: string, init?: { method?: string; body?: unknown }): Promise<Response>;
  health(): Promise<HealthBody>;
  /** SIGTERM, as an orderly shutdown, and waits for the process to exit. */
  stop(): Promise<void>;
  /** SIGKILL, as a crash: nothing of the server's shutdown runs. */
  kill(): Promise<void>;
  /** The end of what the process wrote to stderr (its warnings and errors). */
  output(): string;
}

export interface ServerProcessOptions {
  mongodbUri: string;
  dataDir: string;
  env?: Record<string, string>;
  /** Listen on this port (a restart where runners and clients expect the server); default: a free one. */
  port?: number;
}

/**
 * `node server/dist/main.js` as its own process, on a free port, against the given
 * database and data dir, with the tests' admin token and signing secret (shared by
 * every process, as in a real deployment). Resolves once `/healthz` answers.
 */
export async function startServerProcess(options: ServerProcessOptions): Promise<ServerProcess> {
  if (options.port !== undefined) return launch(options, options.port);
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await launch(options, await freePort());
    } catch (error) {
      // Someone took the free port before the child bound it; try another.
      if (!(error instanceof PortTaken) || attempt >= 3) throw error;
    }
  }
}

class PortTaken extends Error {}

async function launch(options: ServerProcessOptions, port: number): Promise<ServerProcess> {
  const child = spawn(process.execPath, [MAIN], {
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? tmpdir(),
      LOG_LEVEL: 'warn',
      HOST: '127.0.0.1',
      PORT: String(port),
      MONGODB_URI: options.mongodbUri,
      ATELIER_DATA_DIR: options.dataDir,
      ATELIER_ADMIN_TOKEN: TEST_ADMIN_TOKEN,
      ATELIER_SIGNING_SECRET: TEST_SIGNING_SECRET,
      // A backstop only: the relay wakes every process's dispatcher when work is queued.
      ATELIER_DISPATCH_POLL_MS: '500',
      ...options.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const spawned = inject('spawnedDir');
  const lines: string[] = [];
  const keep = (chunk: Buffer) => {
    lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
    lines.splice(0, Math.max(0, lines.length - KEPT_LINES));
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => {
      void forgetSpawned(spawned, child.pid!);
      resolve(code);
    }),
  );
  // Ended by the run's teardown should the test never get to stop it.
  await recordSpawned(spawned, child.pid!, [process.execPath, MAIN].join(' '));
  const url = `http://127.0.0.1:${port}`;
  const output = () => lines.join('\n');

  const died = exited.then((code) => {
    const text = output();
    throw text.includes('already in use')
      ? new PortTaken(text)
      : new Error(`server process exited (${code}) before it was ready:\n${text}`);
  });
  // Once it is ready, its exit is the test stopping it: no failure.
  died.catch(() => undefined);
  const ready = vi.waitFor(
    async () => {
      const response = await fetch(new URL('/healthz', url));
      if (response.status !== 200) throw new Error(`/healthz answered ${response.status}`);
    },
    { timeout: 30_000, interval: 50 },
  );
  try {
    await Promise.race([ready, died]);
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }

  const admin = (path: string, body?: unknown) =>
    fetch(new URL(path, url), {
      method: body === undefined ? 'GET' : 'POST',
      headers: { Authorization: `Bearer ${TEST_ADMIN_TOKEN}`, 'Content-Type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  return {
    url,
    pid: child.pid!,
    admin,
    api: (secretKey, path, init = {}) =>
      fetch(new URL(path, url), {
        method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
        headers: { Authorization: `Bearer ${secretKey}`, 'Content-Type': 'application/json' },
        ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
      }),
    health: async () => (await (await fetch(new URL('/healthz', url))).json()) as HealthBody,
    stop: () => signal(child, exited, 'SIGTERM'),
    kill: () => signal(child, exited, 'SIGKILL'),
    output,
  };
}

async function signal(child: ChildProcess, exited: Promise<unknown>, name: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill(name);
  const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
  await exited;
  clearTimeout(timer);
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export interface ServerCluster {
  processes: ServerProcess[];
  /** A connection of the test's own to the cluster's database, to check what is stored. */
  database: Database;
  mongodbUri: string;
  dataDir: string;
  createTenant(
    via: ServerProcess,
    input?: { name?: string; plan?: string; origins?: string[] },
  ): Promise<{ tenantId: string; secretKey: string; publishableKey: string }>;
  createRunnerToken(via: ServerProcess): Promise<string>;
  /** Stops every process still running, drops the database and removes the data dir. */
  stop(): Promise<void>;
}

/**
 * Several server processes on one fresh database of the run's database server and one
 * shared data dir: one deployment with several API servers.
 */
export async function startServerCluster(count: number, env: Record<string, string> = {}): Promise<ServerCluster> {
  const mongodbUri = freshDatabaseUri();
  const dataDir = await mkdtemp(join(tmpdir(), 'atelier-cluster-'));
  const processes: ServerProcess[] = [];
  let database: Database | undefined;
  const stop = async () => {
    await Promise.all(processes.map((server) => server.stop()));
    await database?.close();
    await dropDatabase(mongodbUri);
    await rm(dataDir, { recursive: true, force: true });
  };
  try {
    // One after another: the first creates the collections and indexes the others find.
    for (let i = 0; i < count; i += 1) processes.push(await startServerProcess({ mongodbUri, dataDir, env }));
    database = await connectDatabase(mongodbUri);
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    processes,
    database,
    mongodbUri,
    dataDir,
    async createTenant(via, input = {}) {
      const response = await via.admin('/admin/v1/tenants', {
        name: input.name ?? 'Test Shop',
        plan: input.plan ?? 'pro',
        origins: input.origins ?? ['http://shop.test'],
      });
      if (response.status !== 201) throw new Error(`createTenant: ${response.status} ${await response.text()}`);
      return (await response.json()) as { tenantId: string; secretKey: string; publishableKey: string };
    },
    async createRunnerToken(via) {
      const response = await via.admin('/admin/v1/runner-tokens', { name: 'cluster' });
      if (response.status !== 201) throw new Error(`createRunnerToken: ${response.status}`);
      return ((await response.json()) as { token: string }).token;
    },
    stop,
  };
}
