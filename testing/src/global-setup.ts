import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { loadConfig, startDatabase, type DatabaseServer } from '@atelier/server';
import { killLeftovers } from './spawned-processes.js';

import './vitest-context.js';

let server: DatabaseServer | undefined;
let dataDir: string | undefined;
let spawnedDir: string | undefined;

/**
 * One real database server for the whole test run; every test file then works in a
 * database of its own. It is FerretDB even when a `mongod` is on PATH or MONGODB_URI
 * is set, because FerretDB is the harder case (no atomic conditional updates) and a
 * developer's MONGODB_URI must never receive test data. `ATELIER_TEST_MONGODB_URI`
 * runs the suite against a MongoDB of your choosing instead.
 */
export async function setup(project: TestProject): Promise<void> {
  dataDir = await mkdtemp(join(tmpdir(), 'atelier-test-db-'));
  const explicit = process.env.ATELIER_TEST_MONGODB_URI;
  const { cacheDir } = loadConfig({ ...process.env, MONGODB_URI: '' });
  server = await startDatabase(
    explicit ? { dataDir, mongodbUri: explicit, cacheDir } : { dataDir, engine: 'ferretdb', reuse: false, cacheDir },
  );
  project.provide('mongoUri', server.uri);
  spawnedDir = await mkdtemp(join(tmpdir(), 'atelier-test-spawned-'));
  project.provide('spawnedDir', spawnedDir);
}

export async function teardown(): Promise<void> {
  if (spawnedDir) {
    await killLeftovers(spawnedDir);
    await rm(spawnedDir, { recursive: true, force: true });
  }
  await server?.stop();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
}
