import { createReadStream, createWriteStream } from 'node:fs';
import { open, rename } from 'node:fs/promises';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { crc32, createInflateRaw } from 'node:zlib';

/**
 * Just enough of ZIP (APPNOTE 6.3) to take files out of a wheel without an unzip
 * binary: the central directory, stored and deflated entries, CRC-checked. No ZIP64
 * (wheels of a few hundred MB never need it) and no encryption.
 */
export interface ZipEntry {
  name: string;
  method: number;
  crc: number;
  compressedSize: number;
  size: number;
  localHeaderOffset: number;
}

const EOCD = 0x06054b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;

/** Every entry of the archive at `path`, from its central directory. */
export async function zipEntries(path: string): Promise<ZipEntry[]> {
  const file = await open(path, 'r');
  try {
    const { size } = await file.stat();
    const tailLength = Math.min(size, 22 + 0xffff);
    const tail = Buffer.alloc(tailLength);
    await file.read(tail, 0, tailLength, size - tailLength);
    let eocd = -1;
    for (let at = tailLength - 22; at >= 0; at--) {
      if (tail.readUInt32LE(at) === EOCD) {
        eocd = at;
        break;
      }
    }
    if (eocd < 0) throw new Error(`${path} is not a zip archive (no end of central directory)`);
    const count = tail.readUInt16LE(eocd + 10);
    const directorySize = tail.readUInt32LE(eocd + 12);
    const directoryOffset = tail.readUInt32LE(eocd + 16);
    if (count === 0xffff || directoryOffset === 0xffffffff) throw new Error(`${path} is a ZIP64 archive, which is not supported`);
    const directory = Buffer.alloc(directorySize);
    await file.read(directory, 0, directorySize, directoryOffset);
    const entries: ZipEntry[] = [];
    let at = 0;
    for (let i = 0; i < count; i++) {
      if (directory.readUInt32LE(at) !== CENTRAL) throw new Error(`${path}: corrupt central directory at entry ${i}`);
      const nameLength = directory.readUInt16LE(at + 28);
      entries.push({
        method: directory.readUInt16LE(at + 10),
        crc: directory.readUInt32LE(at + 16),
        compressedSize: directory.readUInt32LE(at + 20),
        size: directory.readUInt32LE(at + 24),
        localHeaderOffset: directory.readUInt32LE(at + 42),
        name: directory.toString('utf8', at + 46, at + 46 + nameLength),
      });
      at += 46 + nameLength + directory.readUInt16LE(at + 30) + directory.readUInt16LE(at + 32);
    }
    return entries;
  } finally {
    await file.close();
  }
}

/** Writes `entry` of the archive at `path` to `target` (via a temporary file), checking size and CRC-32. */
export async function extractEntry(path: string, entry: ZipEntry, target: string): Promise<void> {
  if (entry.method !== 0 && entry.method !== 8)
    throw new Error(`${entry.name}: compression method ${entry.method} is not supported`);
  const header = Buffer.alloc(30);
  const file = await open(path, 'r');
  try {
    await file.read(header, 0, 30, entry.localHeaderOffset);
  } finally {
    await file.close();
  }
  if (header.readUInt32LE(0) !== LOCAL) throw new Error(`${entry.name}: corrupt local header`);
  const start = entry.localHeaderOffset + 30 + header.readUInt16LE(26) + header.readUInt16LE(28);
  let crc = 0;
  let written = 0;
  const check = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      crc = crc32(chunk, crc);
      written += chunk.length;
      done(null, chunk);
    },
  });
  const partial = `${target}.partial`;
  const source = createReadStream(path, { start, end: start + entry.compressedSize - 1 });
  await (entry.method === 8
    ? pipeline(source, createInflateRaw(), check, createWriteStream(partial))
    : pipeline(source, check, createWriteStream(partial)));
  if (written !== entry.size || crc >>> 0 !== entry.crc >>> 0) {
    throw new Error(`${entry.name}: extracted ${written} bytes with CRC ${crc >>> 0}, expected ${entry.size} with ${entry.crc}`);
  }
  await rename(partial, target);
}
