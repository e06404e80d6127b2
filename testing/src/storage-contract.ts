import { randomBytes } from 'node:crypto';
import { buffer } from 'node:stream/consumers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Storage, StoredObject } from '@atelier/server';

export interface StorageUnderTest {
  storage: Storage;
  close(): Promise<void>;
}

/**
 * What every storage adapter must do, run against each of them (the filesystem one and
 * the S3 one). `open` gets the listing page size to use where the adapter pages through
 * listings: small, so that deleting a prefix has to follow several pages.
 */
export function storageContract(name: string, open: (options: { listPageSize: number }) => Promise<StorageUnderTest>): void {
  describe(`${name}: the storage contract`, () => {
    let subject: StorageUnderTest;
    let storage: Storage;

    beforeAll(async () => {
      subject = await open({ listPageSize: 2 });
      storage = subject.storage;
    });

    afterAll(async () => {
      await subject?.close();
    });

    /** A tenant id of this test's own, so that no two tests (or runs) share keys. */
    const tenant = () => `ten_${randomBytes(8).toString('hex')}`;
    const bytes = (length: number) => new Uint8Array(Array.from({ length }, (_, i) => (i * 37 + 11) % 256));
    const drain = async (object: StoredObject | undefined) => (object ? new Uint8Array(await buffer(object.stream)) : undefined);

    it('reads back exactly the bytes put, with their size, and overwrites on a second put', async () => {
      const key = `tenants/${tenant()}/generations/job_1/0-img.png`;
      // Every byte value, so that nothing on the way treats the body as text.
      const first = new Uint8Array(Array.from({ length: 512 }, (_, i) => i % 256));
      await storage.put(key, first, 'image/png');
      const read = await storage.read(key);
      expect({ size: read?.size, range: read?.range }).toEqual({ size: 512, range: { start: 0, end: 511 } });
      expect(await drain(read)).toEqual(first);

      const second = bytes(40);
      await storage.put(key, second, 'image/png');
      const again = await storage.read(key);
      expect(again?.size).toBe(40);
      expect(await drain(again)).toEqual(second);
    });

    it('answers undefined for a key that holds nothing, with or without a range', async () => {
      const key = `tenants/${tenant()}/uploads/missing.png`;
      expect(await storage.read(key)).toBeUndefined();
      expect(await storage.read(key, { start: 0, end: 3 })).toBeUndefined();
    });

    it('reads a range: inclusive offsets, the end clamped to the object, and the whole size told', async () => {
      const key = `tenants/${tenant()}/generations/job_1/0-img.webp`;
      const all = bytes(100);
      await storage.put(key, all, 'image/webp');
      const cases = [
        { ask: { start: 10, end: 19 }, got: { start: 10, end: 19 } },
        { ask: { start: 0, end: 0 }, got: { start: 0, end: 0 } },
        { ask: { start: 99, end: 99 }, got: { start: 99, end: 99 } },
        { ask: { start: 90, end: 1_000_000 }, got: { start: 90, end: 99 } },
      ];
      for (const { ask, got } of cases) {
        const read = await storage.read(key, ask);
        expect({ size: read?.size, range: read?.range }, JSON.stringify(ask)).toEqual({ size: 100, range: got });
        expect(await drain(read), JSON.stringify(ask)).toEqual(all.slice(got.start, got.end + 1));
      }
    });

    it('refuses a range that starts at or past the end, a backwards one, and any range of an empty object', async () => {
      const key = `tenants/${tenant()}/generations/job_1/0-img.avif`;
      await storage.put(key, bytes(10), 'image/avif');
      await expect(storage.read(key, { start: 10, end: 20 })).rejects.toThrow(RangeError);
      await expect(storage.read(key, { start: 5, end: 4 })).rejects.toThrow(RangeError);
      await expect(storage.read(key, { start: -1, end: 4 })).rejects.toThrow(RangeError);

      const empty = `tenants/${tenant()}/uploads/empty.png`;
      await storage.put(empty, new Uint8Array(0), 'image/png');
      const whole = await storage.read(empty);
      expect(whole?.size).toBe(0);
      expect(await drain(whole)).toEqual(new Uint8Array(0));
      await expect(storage.read(empty, { start: 0, end: 0 })).rejects.toThrow(RangeError);
    });

    it('deletes one key, and deleting what is not there is not an error', async () => {
      const id = tenant();
      const key = `tenants/${id}/uploads/upl_1.png`;
      const other = `tenants/${id}/uploads/upl_2.png`;
      await storage.put(key, bytes(5), 'image/png');
      await storage.put(other, bytes(6), 'image/png');
      await storage.delete(key);
      expect(await storage.read(key)).toBeUndefined();
      expect((await storage.read(other))?.size).toBe(6);
      await expect(storage.delete(key)).resolves.toBeUndefined();
      await expect(storage.delete(`tenants/${tenant()}/never/was.png`)).resolves.toBeUndefined();
    });

    it("deletes a tenant's prefix page by page and answers the count, leaving a tenant whose id starts alike", async () => {
      const id = tenant();
      // More keys than several listing pages hold, spread over nested "directories".
      const keys = Array.from(
        { length: 7 },
        (_, i) => `tenants/${id}/${i % 2 ? 'uploads' : `generations/job_${i}`}/file-${i}.png`,
      );
      const neighbour = `tenants/${id}x/uploads/kept.png`;
      for (const key of [...keys, neighbour]) await storage.put(key, bytes(3), 'image/png');

      expect(await storage.deletePrefix(`tenants/${id}/`)).toBe(7);
      for (const key of keys) expect(await storage.read(key), key).toBeUndefined();
      expect((await storage.read(neighbour))?.size).toBe(3);
      expect(await storage.deletePrefix(`tenants/${id}/`)).toBe(0);
      expect(await storage.deletePrefix(`tenants/${tenant()}/`)).toBe(0);
    });

    it('refuses keys and prefixes outside a tenant, or that climb out of one', async () => {
      const id = tenant();
      for (const key of [
        '../escape.png',
        `tenants/${id}/../other/x.png`,
        `tenants/${id}/./x.png`,
        'elsewhere/x.png',
        `tenants/${id}/`,
      ]) {
        await expect(storage.put(key, bytes(1), 'image/png'), key).rejects.toThrow(/invalid storage key/);
        await expect(storage.read(key), key).rejects.toThrow(/invalid storage key/);
        await expect(storage.delete(key), key).rejects.toThrow(/invalid storage key/);
      }
      for (const prefix of ['tenants/', '', `tenants/${id}`, `tenants/${id}/uploads/`, 'tenants/../']) {
        await expect(storage.deletePrefix(prefix), prefix).rejects.toThrow(/invalid storage prefix/);
      }
    });
  });
}
