import mongoose, { type Model } from 'mongoose';
import type { JobEventBatch } from '../models/job-event-batch.model.js';
import { createLogger } from '../logging/logger.js';
import type { JobEventEnvelope } from './job-events.js';

const { trusted } = mongoose;
const log = createLogger('job-event-relay');

/** A job's progress is relayed at most this often; a stage change and the last step always go at once. */
const PROGRESS_RELAY_MS = 250;
/**
 * Each poll reads back this far before the previous one began, so a batch whose insert
 * was still under way then (or whose writer's clock is a little behind) is read next
 * time. For a writer this process has heard from, its batch numbers cover any lag
 * (see `poll`); for a writer not yet heard from, insert latency plus clock skew between
 * processes must stay below it.
 */
const OVERLAP_MS = 2_000;
/**
 * Batches older than this are deleted: beyond what any poll still reads, and short,
 * because FerretDB reads the whole collection for every poll.
 */
const RETENTION_MS = 6_000;
const TRIM_EVERY_MS = 2_000;
/** Events per batch document at most (a burst is written as several batches, in order). */
const MAX_BATCH_EVENTS = 500;
/** Throttle state of jobs not heard of for this long is forgotten (their end may have been published elsewhere). */
const FORGET_PROGRESS_MS = 60_000;

/** Where the relay hands what other processes published. */
export interface RelaySink {
  deliver(envelope: JobEventEnvelope): void;
  work(): void;
  /** Whether anyone here listens; the relay polls only then. */
  listening(): boolean;
}

export interface JobEventRelayOptions {
  model: Model<JobEventBatch>;
  serverId: string;
  /** How often to read other processes' events while someone here listens. */
  pollMs: number;
}

/**
 * Carries job events between the server processes on one database. Neither database
 * gives us a push channel that both support (FerretDB v1 has no change streams and no
 * tailable cursors), so each process writes what it publishes as batch documents and
 * polls for the others' every `pollMs` while it has listeners.
 *
 * Ordering: one process's batches are written one after another and read back in
 * (time, sequence) order, so the events one process publishes about a job arrive
 * elsewhere in the order it published them; events from different processes are
 * ordered by their writers' clocks. Latency: the write (a few ms) plus up to one poll
 * interval. Delivery is at most once per process (batches are de-duplicated by id); a
 * batch whose insert was slow is still delivered (by its writer's batch number), but one
 * that could not be written is lost, which costs a watcher a snapshot, not a result: the
 * database stays the source of truth (a runner learns of a lost cancel at its next
 * heartbeat).
 *
 * Why not a capped collection: FerretDB trims a capped collection only on a background
 * interval (by default a tenth of it once a minute), so under load it outgrows its cap,
 * and FerretDB's SQLite engine answers a range query by scanning the whole collection
 * (measured: ~75 µs a document per poll). MongoDB refuses deletes from a capped
 * collection, so the relay uses a plain collection, indexed by time, and trims it.
 */
export class JobEventRelay {
  private sink: RelaySink | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private polling: Promise<void> | undefined;
  private lastPollStart: number | undefined;
  /** Batches already delivered that a later poll may still read again: id → time. */
  private readonly delivered = new Map<string, number>();
  /** Per writer heard from: its last batch number delivered here, and when it was delivered. */
  private readonly writers = new Map<string, { seq: number; heardAt: number }>();
  private pending: JobEventEnvelope[] = [];
  private pendingWork = false;
  private flushing: Promise<void> | undefined;
  private seq = 0;
  private lastTrim = 0;
  /** Per job: when and at which stage progress was last relayed. */
  private readonly progressSent = new Map<string, { at: number; stage: string }>();
  /** Per job: the latest progress held back by the throttle, sent when its window has passed. */
  private readonly heldBack = new Map<string, JobEventEnvelope>();

  constructor(private readonly options: JobEventRelayOptions) {}

  start(sink: RelaySink): void {
    this.sink = sink;
    this.timer = setInterval(() => this.tick(), this.options.pollMs);
    this.timer.unref();
  }

  /** Stops polling and writes whatever is still waiting. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.polling;
    this.releaseHeldBack(Number.POSITIVE_INFINITY);
    while (this.flushing !== undefined || this.pending.length > 0 || this.pendingWork) {
      this.scheduleFlush();
      await this.flushing;
    }
    this.stopped = true;
  }

  send(envelope: JobEventEnvelope): void {
    if (this.stopped || !this.passesThrottle(envelope)) return;
    this.pending.push(envelope);
    this.scheduleFlush();
  }

  /** Tells other processes that there is runnable work (coalesced into the next batch). */
  sendWork(): void {
    if (this.stopped) return;
    this.pendingWork = true;
    this.scheduleFlush();
  }

  private tick(): void {
    this.releaseHeldBack(Date.now());
    this.polling ??= this.poll()
      .catch((error: unknown) => log.warn({ err: error }, 'could not read relayed job events'))
      .finally(() => {
        this.polling = undefined;
      });
  }

  private async poll(): Promise<void> {
    const sink = this.sink;
    if (!sink?.listening()) {
      this.lastPollStart = undefined;
      return;
    }
    const started = Date.now();
    const from = (this.lastPollStart ?? started) - OVERLAP_MS;
    // A writer stores its batches one after another, so a batch numbered past the last
    // one delivered is new however late its insert landed (the time window alone would
    // miss an insert slower than OVERLAP_MS, and with it a cancel or a completion).
    const later = [...this.writers].map(([serverId, { seq }]) => ({ serverId, seq: trusted({ $gt: seq }) }));
    const batches = await this.options.model
      .find({
        serverId: trusted({ $ne: this.options.serverId }),
        $or: [{ at: trusted({ $gt: new Date(from) }) }, ...later],
      })
      .sort({ at: 1, seq: 1 })
      .lean();
    this.lastPollStart = started;
    for (const [serverId, writer] of this.writers) if (started - writer.heardAt > RETENTION_MS) this.writers.delete(serverId);
    for (const batch of batches) {
      if (this.delivered.has(batch._id)) continue;
      this.delivered.set(batch._id, batch.at.getTime());
      const writer = this.writers.get(batch.serverId);
      if (!writer || batch.seq > writer.seq) this.writers.set(batch.serverId, { seq: batch.seq, heardAt: started });
      if (batch.work) sink.work();
      for (const envelope of batch.events) {
        try {
          sink.deliver(envelope);
        } catch (error) {
          log.error({ err: error, jobId: envelope.jobId }, 'a job event listener failed');
        }
      }
    }
    // The next poll starts later than this one did, so it cannot return these again.
    for (const [id, at] of this.delivered) if (at <= from) this.delivered.delete(id);
  }

  /** Every event but progress goes; progress goes on a stage change, at the last step, or once its window has passed. */
  private passesThrottle(envelope: JobEventEnvelope): boolean {
    const { jobId, event } = envelope;
    if (event.type !== 'progress') {
      this.progressSent.delete(jobId);
      this.heldBack.delete(jobId);
      return true;
    }
    const now = Date.now();
    const last = this.progressSent.get(jobId);
    if (!last || last.stage !== event.stage || event.step >= event.steps || now - last.at >= PROGRESS_RELAY_MS) {
      this.progressSent.set(jobId, { at: now, stage: event.stage });
      this.heldBack.delete(jobId);
      return true;
    }
    this.heldBack.set(jobId, envelope);
    return false;
  }

  /** Sends held-back progress whose window has passed, so watchers elsewhere end on the latest step. */
  private releaseHeldBack(now: number): void {
    for (const [jobId, envelope] of this.heldBack) {
      const last = this.progressSent.get(jobId);
      if (last && now - last.at < PROGRESS_RELAY_MS) continue;
      this.heldBack.delete(jobId);
      if (envelope.event.type === 'progress') this.progressSent.set(jobId, { at: Date.now(), stage: envelope.event.stage });
      this.pending.push(envelope);
    }
    for (const [jobId, sent] of this.progressSent) {
      if (Date.now() - sent.at > FORGET_PROGRESS_MS) this.progressSent.delete(jobId);
    }
    if (this.pending.length > 0) this.scheduleFlush();
  }

  /** One write at a time, so that this process's batches are stored (and read back) in order. */
  private scheduleFlush(): void {
    if (this.flushing) return;
    this.flushing = this.flush().finally(() => {
      this.flushing = undefined;
      if (!this.stopped && (this.pending.length > 0 || this.pendingWork)) this.scheduleFlush();
    });
  }

  private async flush(): Promise<void> {
    // Let everything published in this turn of the event loop join the batch.
    await new Promise((resolve) => setImmediate(resolve));
    const events = this.pending.splice(0, MAX_BATCH_EVENTS);
    const work = this.pendingWork;
    this.pendingWork = false;
    if (events.length === 0 && !work) return;
    this.seq += 1;
    const { model, serverId } = this.options;
    try {
      await model.create({ _id: `${serverId}:${this.seq}`, serverId, seq: this.seq, at: new Date(), work, events });
    } catch (error) {
      log.warn({ err: error, events: events.length }, 'could not relay job events; other processes will read the jobs instead');
    }
    await this.trim();
  }

  /** Deletes every process's old batches (a process that died cannot trim its own). */
  private async trim(): Promise<void> {
    const now = Date.now();
    if (now - this.lastTrim < TRIM_EVERY_MS) return;
    this.lastTrim = now;
    await this.options.model
      .deleteMany({ at: trusted({ $lt: new Date(now - RETENTION_MS) }) })
      .catch((error: unknown) => log.warn({ err: error }, 'could not trim relayed job events'));
  }
}
