import { mkdir, open, readdir, rename, rm, writeFile, type FileHandle } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import {
  assertValidKey,
  assertValidPrefix,
  assertValidRange,
  resolveRange,
  type ByteRange,
  type Storage,
  type StoredObject,
} from './storage.js';

/**
 * Files under `<root>/<key>`; writes go to a temp file and are renamed into place.
 * Directories are made when the first file lands in them, so a new tenant's prefix
 * needs nothing created up front (as with S3, where prefixes are only key names).
 */
export class FileStorage implements Storage {
  constructor(private readonly root: string) {}

  async put(key: string, bytes: Uint8Array): Promise<void> {
    const path = this.pathOf(key);
    await mkdir(dirname(path), { recursive: true });
    const temp = `${path}.${process.pid}.tmp`;
    await writeFile(temp, bytes);
    await rename(temp, path);
  }

  async read(key: string, range?: ByteRange): Promise<StoredObject | undefined> {
    const path = this.pathOf(key);
    if (range) assertValidRange(range);
    let handle: FileHandle;
    try {
      handle = await open(path, 'r');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
    // Size and bytes from one open file: a `put` renaming a new version into place
    // meanwhile cannot pair one version's size with the other's bytes.
    try {
      const { size } = await handle.stat();
      const resolved = resolveRange(size, range);
      const stream = handle.createReadStream(range ? { start: resolved.start, end: resolved.end } : {});
      return { stream, size, range: resolved };
    } catch (error) {
      await handle.close();
      throw error;
    }
  }

  async delete(key: string): Promise<void> {
    await rm(this.pathOf(key), { force: true });
  }

  async deletePrefix(prefix: string): Promise<number> {
    assertValidPrefix(prefix);
    const directory = join(this.root, prefix);
    let files: number;
    try {
      const entries = await readdir(directory, { recursive: true, withFileTypes: true });
      files = entries.filter((entry) => entry.isFile()).length;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 0;
      throw error;
    }
    await rm(directory, { recursive: true, force: true });
    return files;
  }

  private pathOf(key: string): string {
    assertValidKey(key);
    return join(this.root, key);
  }
}
