import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32, deflateRawSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { extractEntry, zipEntries } from './zip-reader.js';

/** A minimal archive as APPNOTE 6.3 lays it out: local headers and data, central directory, end record. */
function zip(files: { name: string; data: Buffer; deflate: boolean }[]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const { name, data, deflate } of files) {
    const body = deflate ? deflateRawSync(data) : data;
    const nameBytes = Buffer.from(name);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(deflate ? 8 : 0, 8);
    local.writeUInt32LE(crc32(data), 14);
    local.writeUInt32LE(body.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(nameBytes.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(deflate ? 8 : 0, 10);
    central.writeUInt32LE(crc32(data), 16);
    central.writeUInt32LE(body.length, 20);
    central.writeUInt32LE(data.length, 24);
    central.writeUInt16LE(nameBytes.length, 28);
    central.writeUInt32LE(offset, 42);
    locals.push(local, nameBytes, body);
    centrals.push(central, nameBytes);
    offset += 30 + nameBytes.length + body.length;
  }
  const directory = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(files.length, 8);
  end.writeUInt16LE(files.length, 10);
  end.writeUInt32LE(directory.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, directory, end]);
}

let dir: string;
const library = Buffer.from(Array.from({ length: 200_000 }, (_, i) => (i * 7919) % 251));

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'zip-reader-'));
  await writeFile(
    join(dir, 'wheel.whl'),
    zip([
      { name: 'onnxruntime/capi/libonnxruntime_providers_cuda.so', data: library, deflate: true },
      { name: 'onnxruntime_gpu-1.30.0.dist-info/METADATA', data: Buffer.from('Name: onnxruntime-gpu\n'), deflate: false },
    ]),
  );
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('zip reader', () => {
  it('lists the entries and extracts deflated and stored ones byte for byte', async () => {
    const path = join(dir, 'wheel.whl');
    const entries = await zipEntries(path);
    expect(entries.map((e) => [e.name, e.size])).toEqual([
      ['onnxruntime/capi/libonnxruntime_providers_cuda.so', 200_000],
      ['onnxruntime_gpu-1.30.0.dist-info/METADATA', 22],
    ]);
    await extractEntry(path, entries[0]!, join(dir, 'lib.so'));
    expect((await readFile(join(dir, 'lib.so'))).equals(library)).toBe(true);
    await extractEntry(path, entries[1]!, join(dir, 'METADATA'));
    expect(await readFile(join(dir, 'METADATA'), 'utf8')).toBe('Name: onnxruntime-gpu\n');
  });

  it('refuses an entry whose CRC does not match, and a file that is not a zip', async () => {
    const path = join(dir, 'wheel.whl');
    const [entry] = await zipEntries(path);
    await expect(extractEntry(path, { ...entry!, crc: entry!.crc ^ 1 }, join(dir, 'bad.so'))).rejects.toThrow(/CRC/);
    await writeFile(join(dir, 'not.whl'), 'not a zip');
    await expect(zipEntries(join(dir, 'not.whl'))).rejects.toThrow(/not a zip archive/);
  });
});
