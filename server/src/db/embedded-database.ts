import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, connect } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import mongoose from 'mongoose';
import { withDirectoryLock } from '@atelier/runtime';
import { createLogger } from '../logging/logger.js';
import { ensureFerretDb } from './ferretdb-install.js';
import { findOnPath } from './find-on-path.js';

const log = createLogger('embedded-database');

export type DatabaseKind = 'external' | 'mongod' | 'ferretdb';

/** A MongoDB-compatible server this process can use; `stop()` is safe to call twice. */
export interface DatabaseServer {
  kind: DatabaseKind;
  /** Connection string without a database name, e.g. `mongodb://127.0.0.1:40123`. */
  uri: string;
  /** Whether this handle started the server (and so `stop()` stops it). */
  owned: boolean;
  /** `uri` with a database name, keeping any query string. */
  uriFor(database: string): string;
  stop(): Promise<void>;
}

export interface StartDatabaseOptions {
  /** Where an embedded server keeps its files; `<dataDir>/db`. */
  dataDir: string;
  /** Where FerretDB is built (Config's `cacheDir`). */
  cacheDir: string;
  /** A MongoDB to use instead of starting one (Config's `mongodbUri`). */
  mongodbUri?: string | undefined;
  /**
   * `auto` (default): a `mongod` on PATH, else FerretDB. `ferretdb`: FerretDB even when
   * a `mongod` is there (the tests: FerretDB's weaker guarantees are the harder case).
   */
  engine?: 'auto' | 'ferretdb';
  /** Reuse a server another process started on the same data dir (the CLI beside the demo). */
  reuse?: boolean;
  /** Told about slow one-time work (building FerretDB), so a person waiting knows why. */
  onNotice?: (message: string) => void;
}

interface RuntimeRecord {
  pid: number;
  uri: string;
  kind: DatabaseKind;
}

/**
 * Makes a Mongo-compatible server available, in this order: the given `mongodbUri`
 * (MONGODB_URI); a `mongod` on PATH; FerretDB v1 with its SQLite engine, built once
 * into the cache directory. Used by `npm run demo`, the tests and the CLI alike.
 */
export async function startDatabase(options: StartDatabaseOptions): Promise<DatabaseServer> {
  if (options.mongodbUri) return handle('external', options.mongodbUri, false, async () => {});

  const dbDir = join(options.dataDir, 'db');
  await mkdir(dbDir, { recursive: true });
  const recordPath = join(dbDir, 'server.json');
  return withDirectoryLock(join(dbDir, '.start.lock'), async () => {
    if (options.reuse !== false) {
      const running = await readRecord(recordPath);
      if (running && isAlive(running.pid) && (await ping(running.uri))) {
        return handle(running.kind, running.uri, false, async () => {});
      }
    }
    const mongod = options.engine === 'ferretdb' ? undefined : await findOnPath('mongod');
    const started = mongod ? await startMongod(mongod, dbDir) : await startFerretDb(dbDir, options.cacheDir, options.onNotice);
    await writeFile(recordPath, JSON.stringify({ pid: started.child.pid, uri: started.uri, kind: started.kind }));
    return handle(started.kind, started.uri, true, async () => {
      await rm(recordPath, { force: true });
      await stopChild(started.child);
    });
  });
}

function handle(kind: DatabaseKind, uri: string, owned: boolean, stop: () => Promise<void>): DatabaseServer {
  let stopping: Promise<void> | undefined;
  return {
    kind,
    uri,
    owned,
    uriFor: (database) => withDatabase(uri, database),
    stop: () => (stopping ??= stop()),
  };
}

export function withDatabase(uri: string, database: string): string {
  const url = new URL(uri);
  url.pathname = `/${database}`;
  return url.toString();
}

interface StartedServer {
  kind: DatabaseKind;
  uri: string;
  child: ChildProcess;
}

async function startFerretDb(dbDir: string, cacheDir: string, onNotice?: (message: string) => void): Promise<StartedServer> {
  const binary = await ensureFerretDb(cacheDir, onNotice);
  const sqliteDir = join(dbDir, 'sqlite');
  await mkdir(sqliteDir, { recursive: true });
  return startWithRetries('ferretdb', (port) => [
    binary,
    [
      '--handler=sqlite',
      `--sqlite-url=file:${sqliteDir}/`,
      '--telemetry=disable',
      `--listen-addr=127.0.0.1:${port}`,
      // The debug HTTP listener defaults to a fixed port; two instances would collide.
      '--debug-addr=-',
      `--state-dir=${dbDir}`,
      '--log-level=warn',
    ],
  ]);
}

async function startMongod(binary: string, dbDir: string): Promise<StartedServer> {
  const dataPath = join(dbDir, 'mongod');
  await mkdir(dataPath, { recursive: true });
  return startWithRetries('mongod', (port) => [
    binary,
    ['--dbpath', dataPath, '--port', String(port), '--bind_ip', '127.0.0.1', '--quiet'],
  ]);
}

/** A free port can be taken by someone else before the server binds it; try again then. */
async function startWithRetries(kind: DatabaseKind, command: (port: number) => [string, string[]]): Promise<StartedServer> {
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt += 1) {
    const port = await freePort();
    const [binary, args] = command(port);
    const uri = `mongodb://127.0.0.1:${port}`;
    const child = spawn(binary, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-4000);
    });
    try {
      await waitUntilReady(uri, child, 60_000);
      log.info({ kind, uri, pid: child.pid }, 'database server ready');
      return { kind, uri, child };
    } catch (error) {
      lastError = new Error(`${kind} did not start: ${(error as Error).message}${stderr ? ` — ${stderr.trim()}` : ''}`);
      await stopChild(child);
    }
  }
  throw lastError;
}

async function waitUntilReady(uri: string, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exited = false;
  child.once('exit', () => {
    exited = true;
  });
  while (Date.now() < deadline) {
    if (exited) throw new Error(`process exited with code ${child.exitCode}`);
    if ((await portOpen(uri)) && (await ping(uri))) return;
    await sleep(100);
  }
  throw new Error(`not ready after ${timeoutMs} ms`);
}

async function ping(uri: string): Promise<boolean> {
  const client = new mongoose.mongo.MongoClient(uri, { serverSelectionTimeoutMS: 1000, connectTimeoutMS: 1000 });
  try {
    await client.connect();
    await client.db('admin').command({ ping: 1 });
    return true;
  } catch {
    return false;
  } finally {
    await client.close().catch(() => {});
  }
}

function portOpen(uri: string): Promise<boolean> {
  const { hostname, port } = new URL(uri);
  return new Promise((resolve) => {
    const socket = connect({ host: hostname, port: Number(port) });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const killed = await Promise.race([exited.then(() => true), sleep(10_000).then(() => false)]);
  if (!killed) {
    child.kill('SIGKILL');
    await exited;
  }
}

async function readRecord(path: string): Promise<RuntimeRecord | undefined> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as RuntimeRecord;
  } catch {
    return undefined;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
