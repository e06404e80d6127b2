import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { storageContract } from '@atelier/testing';
import { FileStorage } from './file-storage.js';

storageContract('FileStorage', async () => {
  const root = await mkdtemp(join(tmpdir(), 'atelier-storage-contract-'));
  return { storage: new FileStorage(root), close: () => rm(root, { recursive: true, force: true }) };
});
