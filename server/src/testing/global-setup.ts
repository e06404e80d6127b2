import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { startDatabase, type DatabaseServer } from '../db/embedded-database.js';

declare module 'vitest' {
  export interface ProvidedContext {
    mongoUri: string;
  }
}

let server: DatabaseServer | undefined;
let dataDir: string | undefined;

/**
 * One real database server for the whole test run (FerretDB unless MONGODB_URI or a
 * mongod is available); every test file then works in a database of its own.
 */
export async function setup(project: TestProject): Promise<void> {
  dataDir = await mkdtemp(join(tmpdir(), 'atelier-test-db-'));
  server = await startDatabase({ dataDir, reuse: false });
  project.provide('mongoUri', server.uri);
}

export async function teardown(): Promise<void> {
  await server?.stop();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
}
