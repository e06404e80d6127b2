import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import mongoose from 'mongoose';
import { loadConfig } from '../config.js';
import { startDatabase, withDatabase } from './embedded-database.js';

let dataDir: string;
const { cacheDir } = loadConfig({ ...process.env, MONGODB_URI: '' });

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'atelier-embedded-'));
});

afterAll(async () => {
  await rm(dataDir, { recursive: true, force: true });
});

async function canWrite(uri: string): Promise<boolean> {
  const connection = await mongoose.createConnection(withDatabase(uri, 'probe'), { serverSelectionTimeoutMS: 2000 }).asPromise();
  try {
    await connection.db!.collection('probe').insertOne({ at: new Date() });
    return (await connection.db!.collection('probe').countDocuments()) > 0;
  } finally {
    await connection.close();
  }
}

describe('startDatabase', () => {
  it('uses MONGODB_URI as given and never stops what it did not start', async () => {
    const server = await startDatabase({ dataDir, cacheDir, mongodbUri: 'mongodb://db.example:27017' });
    expect(server).toMatchObject({ kind: 'external', owned: false, uri: 'mongodb://db.example:27017' });
    expect(server.uriFor('atelier')).toBe('mongodb://db.example:27017/atelier');
    await server.stop();
  });

  it('starts a real server, lets a second process share it, and stops it cleanly', async () => {
    const first = await startDatabase({ dataDir, cacheDir, engine: 'ferretdb' });
    expect(first.owned).toBe(true);
    expect(first.kind).toBe('ferretdb');
    expect(await canWrite(first.uri)).toBe(true);

    // The CLI beside a running demo: same data dir → the same server, not a second one.
    const second = await startDatabase({ dataDir, cacheDir, engine: 'ferretdb' });
    expect(second).toMatchObject({ owned: false, uri: first.uri });
    await second.stop();
    expect(await canWrite(first.uri)).toBe(true);

    await first.stop();
    await expect(canWrite(first.uri)).rejects.toThrow();
  });

  it('starts afresh when the recorded server is gone (a crashed demo)', async () => {
    await writeFile(
      join(dataDir, 'db', 'server.json'),
      JSON.stringify({ pid: 2 ** 22 + 1, uri: 'mongodb://127.0.0.1:1', kind: 'ferretdb' }),
    );
    const server = await startDatabase({ dataDir, cacheDir, engine: 'ferretdb' });
    try {
      expect(server.owned).toBe(true);
      expect(server.uri).not.toBe('mongodb://127.0.0.1:1');
      expect(await canWrite(server.uri)).toBe(true);
    } finally {
      await server.stop();
    }
  });
});
