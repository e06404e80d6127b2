import mongoose from 'mongoose';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { dropDatabase, freshDatabaseUri } from '@atelier/testing';
import { connectDatabase, type Database } from '../db/connect.js';
import { newId } from '../services/ids.js';
import { JobEventRelay } from './job-event-relay.js';
import { JobEvents, type JobEventEnvelope } from './job-events.js';

let uri: string;
let database: Database;
/** Two server processes' event buses, as far as the relay is concerned: own ids, own relays, one database. */
let a: JobEvents;
let b: JobEvents;
const unsubscribes: (() => void)[] = [];

beforeAll(async () => {
  uri = freshDatabaseUri();
  database = await connectDatabase(uri);
});

afterAll(async () => {
  await database.close();
  await dropDatabase(uri);
});

afterEach(async () => {
  unsubscribes.splice(0).forEach((unsubscribe) => unsubscribe());
  await Promise.all([a.stop(), b.stop()]);
});

function bus(name: string): JobEvents {
  // A fresh id each time, as every server process has one of its own.
  const serverId = newId(name);
  const events = new JobEvents(new JobEventRelay({ model: database.models.JobEventBatch, serverId, pollMs: 20 }));
  events.start();
  return events;
}

function record(events: JobEvents, jobId: string): JobEventEnvelope[] {
  const seen: JobEventEnvelope[] = [];
  unsubscribes.push(events.subscribe(jobId, (envelope) => seen.push(envelope)));
  return seen;
}

describe('JobEventRelay', () => {
  it("carries a job's events to another process in order, once each, and never back to their publisher", async () => {
    a = bus('srv_a');
    b = bus('srv_b');
    const atA = record(a, 'gen_x');
    const atB = record(b, 'gen_x');
    const markerAtB = record(b, 'gen_marker');

    a.publish('ten_1', 'gen_x', { type: 'queued', position: 1, etaSeconds: null, runners: 0 });
    a.publish('ten_1', 'gen_x', { type: 'progress', step: 1, steps: 30, stage: 'sampling' }, 1);
    a.publish('ten_1', 'gen_x', { type: 'completed', images: [] }, 1);
    await vi.waitFor(() => expect(atB.map((envelope) => envelope.event.type)).toContain('completed'));

    // The poll that reads this marker reads those batches again (they are inside its
    // window) and before it: a duplicate would have arrived by the time the marker has.
    a.publish('ten_1', 'gen_marker', { type: 'failed', code: 'canceled', message: 'marker' });
    await vi.waitFor(() => expect(markerAtB).toHaveLength(1));
    expect(atB).toEqual([
      { tenantId: 'ten_1', jobId: 'gen_x', event: { type: 'queued', position: 1, etaSeconds: null, runners: 0 } },
      { tenantId: 'ten_1', jobId: 'gen_x', epoch: 1, event: { type: 'progress', step: 1, steps: 30, stage: 'sampling' } },
      { tenantId: 'ten_1', jobId: 'gen_x', epoch: 1, event: { type: 'completed', images: [] } },
    ]);
    expect(atA).toEqual(atB);
  });

  it('relays progress throttled, but every stage change and the latest step', async () => {
    a = bus('srv_a');
    b = bus('srv_b');
    const atA = record(a, 'gen_p');
    const atB = record(b, 'gen_p');
    const step = (envelope: JobEventEnvelope) =>
      envelope.event.type === 'progress' ? `${envelope.event.stage}:${envelope.event.step}` : '';

    for (let n = 1; n <= 20; n += 1) a.publish('ten_1', 'gen_p', { type: 'progress', step: n, steps: 30, stage: 'sampling' });
    await vi.waitFor(() => expect(atB.map(step)).toContain('sampling:20'));
    a.publish('ten_1', 'gen_p', { type: 'progress', step: 20, steps: 30, stage: 'decoding' });
    await vi.waitFor(() => expect(atB.map(step).at(-1)).toBe('decoding:20'));

    expect(atA).toHaveLength(21); // every step here
    expect(atB.map(step)).toEqual(['sampling:1', 'sampling:20', 'decoding:20']);
  });

  it("wakes another process's dispatcher when work is announced", async () => {
    a = bus('srv_a');
    b = bus('srv_b');
    let wokenAtA = 0;
    let wokenAtB = 0;
    unsubscribes.push(a.onWork(() => (wokenAtA += 1)));
    unsubscribes.push(b.onWork(() => (wokenAtB += 1)));
    a.announceWork();
    expect(wokenAtA).toBe(1);
    await vi.waitFor(() => expect(wokenAtB).toBe(1));
  });

  it("delivers a known writer's batch however late its insert lands, once", async () => {
    b = bus('srv_b');
    a = bus('srv_a');
    const late = record(b, 'gen_late');
    const { JobEventBatch } = database.models;
    // Another process's batches as its relay stores them. The second one's insert took
    // 5 s (a database under load): it is stamped long before it can be read, older than
    // the window a poll reads back.
    const batch = (seq: number, ageMs: number, event: JobEventEnvelope['event']) =>
      JobEventBatch.create({
        _id: `srv_slow:${seq}`,
        serverId: 'srv_slow',
        seq,
        at: new Date(Date.now() - ageMs),
        work: false,
        events: [{ tenantId: 'ten_1', jobId: 'gen_late', event }],
      });
    await batch(1, 0, { type: 'queued', position: 1, etaSeconds: null, runners: 1 });
    await vi.waitFor(() => expect(late).toHaveLength(1));
    await batch(2, 5_000, { type: 'failed', code: 'canceled', message: 'The generation was cancelled.' });
    await vi.waitFor(() => expect(late).toHaveLength(2));
    // Read once: a later batch arrives after it, and nothing more came before it.
    await batch(3, 0, { type: 'queued', position: 9, etaSeconds: null, runners: 1 });
    await vi.waitFor(() => expect(late).toHaveLength(3));
    expect(late.map((envelope) => envelope.event.type)).toEqual(['queued', 'failed', 'queued']);
  });

  it('deletes old batches, including those of a process that is gone', async () => {
    a = bus('srv_a');
    b = bus('srv_b');
    const { JobEventBatch } = database.models;
    await JobEventBatch.create({
      _id: 'srv_gone:1',
      serverId: 'srv_gone',
      seq: 1,
      at: new Date(Date.now() - 60_000),
      work: false,
      events: [],
    });
    a.announceWork();
    await vi.waitFor(async () => expect(await JobEventBatch.findById('srv_gone:1').lean()).toBeNull());
    expect(await JobEventBatch.countDocuments({ at: mongoose.trusted({ $gt: new Date(Date.now() - 60_000) }) })).toBeGreaterThan(
      0,
    );
  });
});
