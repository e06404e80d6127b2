import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import mongoose, { Schema, type Connection, type Model } from 'mongoose';
import { dropDatabase, freshDatabaseUri } from '@atelier/testing';
import { runAsSystem, runWithTenant, TenantScopeError } from './tenant-context.js';
import { tenantPlugin } from './tenant-plugin.js';

interface Note {
  _id: string;
  tenantId: string;
  title: string;
  n: number;
}

let uri: string;
let connection: Connection;
let Notes: Model<Note>;

const asA = <T>(fn: () => T) => runWithTenant('ten_a', fn);
const asB = <T>(fn: () => T) => runWithTenant('ten_b', fn);

beforeAll(async () => {
  uri = freshDatabaseUri();
  connection = await mongoose.createConnection(uri).asPromise();
  const schema = new Schema<Note>({ _id: String, title: String, n: Number });
  schema.plugin(tenantPlugin);
  Notes = connection.model<Note>('Note', schema);
  await asA(() =>
    Notes.insertMany([
      { _id: 'a1', title: 'a-one', n: 1 },
      { _id: 'a2', title: 'a-two', n: 2 },
    ]),
  );
  await asB(() => Notes.create({ _id: 'b1', title: 'b-one', n: 1 }));
});

afterAll(async () => {
  await connection.close();
  await dropDatabase(uri);
});

describe('tenantPlugin', () => {
  it('refuses every kind of operation without a tenant scope', async () => {
    const attempts: (() => Promise<unknown>)[] = [
      () => Notes.find().lean(),
      () => Notes.findOne({ _id: 'a1' }).lean(),
      () => Notes.countDocuments(),
      () => Notes.distinct('title'),
      () => Notes.updateOne({ _id: 'a1' }, { $set: { title: 'x' } }),
      () => Notes.updateMany({}, { $set: { title: 'x' } }),
      () => Notes.deleteMany({}),
      () => Notes.findOneAndUpdate({ _id: 'a1' }, { $set: { title: 'x' } }),
      () => Notes.findOneAndDelete({ _id: 'a1' }),
      () => Notes.replaceOne({ _id: 'a1' }, { title: 'x', n: 0 }),
      () => Notes.aggregate([{ $match: {} }]),
      () => Notes.insertMany([{ _id: 'z', title: 'z', n: 0 }]),
      () => Notes.create({ _id: 'z2', title: 'z', n: 0 }),
      () => Notes.bulkWrite([{ deleteMany: { filter: {} } }]),
      () => Notes.estimatedDocumentCount(),
    ];
    for (const attempt of attempts) await expect(attempt()).rejects.toBeInstanceOf(TenantScopeError);
    expect(await runAsSystem('test: count all', () => Notes.countDocuments())).toBe(3);
  });

  it('scopes reads, counts, distinct and aggregates to the tenant', async () => {
    expect((await asA(() => Notes.find().lean())).map((n) => n._id).sort()).toEqual(['a1', 'a2']);
    expect(await asB(() => Notes.findById('a1').lean())).toBeNull();
    await expect(asB(() => Notes.findOne({ tenantId: 'ten_a' }).lean())).rejects.toBeInstanceOf(TenantScopeError);
    expect(await asA(() => Notes.countDocuments())).toBe(2);
    expect((await asB(() => Notes.distinct('title'))).sort()).toEqual(['b-one']);
    const grouped = await asA(() =>
      Notes.aggregate<{ _id: null; total: number }>([{ $group: { _id: null, total: { $sum: '$n' } } }]),
    );
    expect(grouped).toEqual([{ _id: null, total: 3 }]);
    await expect(asA(() => Notes.estimatedDocumentCount())).rejects.toBeInstanceOf(TenantScopeError);
  });

  it("cannot update, replace or delete another tenant's documents", async () => {
    const update = await asB(() => Notes.updateOne({ _id: 'a1' }, { $set: { title: 'hijacked' } }));
    expect(update.matchedCount).toBe(0);
    expect(await asB(() => Notes.findOneAndUpdate({ _id: 'a1' }, { $set: { title: 'hijacked' } }).lean())).toBeNull();
    expect((await asB(() => Notes.replaceOne({ _id: 'a1' }, { title: 'hijacked', n: 9 }))).matchedCount).toBe(0);
    expect((await asB(() => Notes.deleteMany({ _id: 'a1' }))).deletedCount).toBe(0);
    const bulk = await asB(() =>
      Notes.bulkWrite([
        { updateOne: { filter: { _id: 'a2' }, update: { $set: { title: 'hijacked' } } } },
        { deleteOne: { filter: { _id: 'a1' } } },
      ]),
    );
    expect(bulk.modifiedCount + bulk.deletedCount).toBe(0);
    const a = await runAsSystem('test: read back', () => Notes.find({ tenantId: 'ten_a' }).sort({ _id: 1 }).lean());
    expect(a.map((n) => n.title)).toEqual(['a-one', 'a-two']);
  });

  it('stamps the tenant on every write and refuses to write another tenant id', async () => {
    await asB(() => Notes.bulkWrite([{ insertOne: { document: { _id: 'b2', title: 'b-two', n: 2 } } }]));
    await asB(() => Notes.replaceOne({ _id: 'b2' }, { title: 'b-two!', n: 3 }));
    const b2 = await runAsSystem('test: read back', () => Notes.findById('b2').lean());
    expect(b2).toMatchObject({ tenantId: 'ten_b', title: 'b-two!' });

    await expect(asB(() => Notes.create({ _id: 'x1', tenantId: 'ten_a', title: 'x', n: 0 }))).rejects.toBeInstanceOf(
      TenantScopeError,
    );
    await expect(asB(() => Notes.insertMany([{ _id: 'x2', tenantId: 'ten_a', title: 'x', n: 0 }]))).rejects.toBeInstanceOf(
      TenantScopeError,
    );
    await expect(asB(() => Notes.updateOne({ _id: 'b1' }, { $set: { tenantId: 'ten_a' } }))).rejects.toBeInstanceOf(
      TenantScopeError,
    );
    await expect(
      asB(() => Notes.bulkWrite([{ insertOne: { document: { _id: 'x3', tenantId: 'ten_a', title: 'x', n: 0 } } }])),
    ).rejects.toBeInstanceOf(TenantScopeError);
    expect(
      await runAsSystem('test: none written', () => Notes.countDocuments({ _id: mongoose.trusted({ $in: ['x1', 'x2', 'x3'] }) })),
    ).toBe(0);
  });

  it('upserts land in the tenant that made them', async () => {
    await asA(() => Notes.updateOne({ _id: 'a3' }, { $set: { title: 'a-three', n: 3 } }, { upsert: true }));
    expect(await runAsSystem('test: read back', () => Notes.findById('a3').lean())).toMatchObject({ tenantId: 'ten_a' });
  });
});

describe('tenantPlugin, the rest of the battery', () => {
  const readA = () => runAsSystem('test: read back', () => Notes.find({ tenantId: 'ten_a' }).sort({ _id: 1 }).lean());

  it("finds, counts and checks nothing of another tenant's, whatever the filter names", async () => {
    expect(await asB(() => Notes.countDocuments({ _id: 'a1' }))).toBe(0);
    expect(await asB(() => Notes.exists({ _id: 'a1' }))).toBeNull();
    expect(await asB(() => Notes.distinct('title', { _id: 'a1' }))).toEqual([]);
    expect(await asB(() => Notes.find({ $or: [{ _id: 'a1' }, { _id: 'b1' }] }).lean())).toEqual([
      expect.objectContaining({ _id: 'b1' }),
    ]);
    expect(await asB(() => Notes.aggregate([{ $match: { _id: 'a1' } }]))).toEqual([]);
    expect(await asB(() => Notes.aggregate([{ $match: { title: 'a-one' } }, { $count: 'n' }]))).toEqual([]);
  });

  it('refuses aggregate stages that read or write outside the pipeline (another collection, another tenant)', async () => {
    const stages = [
      { $unionWith: { coll: 'notes', pipeline: [] } },
      { $lookup: { from: 'notes', localField: 'n', foreignField: 'n', as: 'all' } },
      { $graphLookup: { from: 'notes', startWith: '$n', connectFromField: 'n', connectToField: 'n', as: 'all' } },
      { $facet: { all: [{ $unionWith: 'notes' }] } },
      { $out: 'stolen' },
      { $merge: { into: 'stolen' } },
    ];
    for (const stage of stages) {
      await expect(
        asB(() => Notes.aggregate([stage as never])),
        JSON.stringify(stage),
      ).rejects.toBeInstanceOf(TenantScopeError);
    }
  });

  it("cannot delete, replace or find-and-modify another tenant's documents", async () => {
    expect((await asB(() => Notes.deleteOne({ _id: 'a1' }))).deletedCount).toBe(0);
    expect(await asB(() => Notes.findOneAndDelete({ _id: 'a1' }).lean())).toBeNull();
    expect(await asB(() => Notes.findByIdAndDelete('a1').lean())).toBeNull();
    expect(await asB(() => Notes.findOneAndReplace({ _id: 'a1' }, { title: 'hijacked', n: 9 }).lean())).toBeNull();
    expect((await asB(() => Notes.updateMany({}, { $set: { title: 'b-everything' } }))).matchedCount).toBeGreaterThan(0);
    expect((await readA()).map((n) => n.title)).not.toContain('b-everything');
    expect((await readA()).map((n) => n._id)).toContain('a1');
  });

  it('refuses every way of writing tenantId in an update', async () => {
    const updates: unknown[] = [
      { tenantId: 'ten_a' },
      { $set: { tenantId: 'ten_a' } },
      { $set: { 'tenantId.x': 1 } },
      { $unset: { tenantId: 1 } },
      { $setOnInsert: { tenantId: 'ten_a' } },
      { $rename: { title: 'tenantId' } },
      { $rename: { tenantId: 'owner' } },
      [{ $set: { tenantId: 'ten_a' } }],
      [{ $unset: 'tenantId' }],
      [{ $replaceWith: { title: 'x' } }],
    ];
    for (const update of updates) {
      await expect(
        asB(() => Notes.updateOne({ _id: 'b1' }, update as never, { updatePipeline: true })),
        JSON.stringify(update),
      ).rejects.toBeInstanceOf(TenantScopeError);
      await expect(
        asB(() => Notes.bulkWrite([{ updateOne: { filter: { _id: 'b1' }, update: update as never } }])),
        JSON.stringify(update),
      ).rejects.toBeInstanceOf(TenantScopeError);
    }
    const b1 = await runAsSystem('test: read back', () => Notes.findById('b1').lean());
    expect(b1?.tenantId).toBe('ten_b');
  });

  it("documents: another tenant's loaded document can be neither saved, updated nor deleted, and tenantId never changes", async () => {
    const a1 = await asA(() => Notes.findById('a1'));
    a1!.title = 'saved by b';
    await expect(asB(() => a1!.save())).rejects.toBeInstanceOf(TenantScopeError);
    expect((await asB(() => a1!.deleteOne())).deletedCount).toBe(0);
    const update: { matchedCount: number } = await asB(() => a1!.updateOne({ $set: { title: 'updated by b' } }));
    expect(update.matchedCount).toBe(0);
    await expect(asB(() => Notes.bulkSave([a1!]))).rejects.toBeInstanceOf(TenantScopeError);

    const mine = await asA(() => Notes.findById('a2'));
    mine!.tenantId = 'ten_b';
    await asA(() => mine!.save());
    expect(await runAsSystem('test: read back', () => Notes.findById('a2').lean())).toMatchObject({ tenantId: 'ten_a' });
    expect((await readA()).map((n) => n.title)).not.toContain('saved by b');
    expect((await readA()).map((n) => n.title)).not.toContain('updated by b');
  });

  it('refuses document operations without a tenant scope too', async () => {
    const a1 = await asA(() => Notes.findById('a1'));
    a1!.title = 'no scope';
    await expect(a1!.save()).rejects.toBeInstanceOf(TenantScopeError);
    await expect(a1!.deleteOne()).rejects.toBeInstanceOf(TenantScopeError);
    await expect(Notes.exists({ _id: 'a1' })).rejects.toBeInstanceOf(TenantScopeError);
    await expect(Notes.findOneAndReplace({ _id: 'a1' }, { title: 'x', n: 0 })).rejects.toBeInstanceOf(TenantScopeError);
    await expect(Notes.deleteOne({ _id: 'a1' })).rejects.toBeInstanceOf(TenantScopeError);
    await expect(Notes.bulkSave([a1!])).rejects.toBeInstanceOf(TenantScopeError);
  });
});
