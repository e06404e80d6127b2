import { hostname } from 'node:os';
import mongoose from 'mongoose';
import type { Models } from '../models/index.js';
import { createLogger } from '../logging/logger.js';

const { trusted } = mongoose;
const log = createLogger('server-instances');

/** An instance that missed this many heartbeats is taken for dead. */
const MISSED_BEATS_DEAD = 3;
/** A dead instance's record is cleaned up after this many intervals (its runners marked offline). */
const MISSED_BEATS_REAPED = 10;

export interface ServerInstancesDeps {
  models: Models;
  serverId: string;
  heartbeatMs: number;
  /** A dead server process's records are being cleaned up (its runners are offline). */
  onDead(serverId: string): Promise<void>;
}

/**
 * This server process's presence on the database, and which others are alive. Each
 * process writes only its own document, every `heartbeatMs`; after a crash it goes
 * stale within a few intervals, and whatever only that process held (runner sockets)
 * stops counting without waiting for anything of its own to time out. Liveness is
 * judged by the readers' clocks against the writers', so processes on different
 * machines need clocks that agree to well within a heartbeat interval or two.
 */
export class ServerInstances {
  private timer: NodeJS.Timeout | undefined;
  private beat: Promise<void> | undefined;
  /** `alive()`'s last answer, reused for half a heartbeat (every queue estimate asks). */
  private recent: { at: number; ids: Promise<string[]> } | undefined;

  constructor(private readonly deps: ServerInstancesDeps) {}

  get id(): string {
    return this.deps.serverId;
  }

  async start(): Promise<void> {
    const now = new Date();
    await this.deps.models.ServerInstance.create({
      _id: this.deps.serverId,
      hostname: hostname(),
      pid: process.pid,
      heartbeatMs: this.deps.heartbeatMs,
      startedAt: now,
      seenAt: now,
    });
    this.timer = setInterval(() => {
      this.beat ??= this.heartbeat()
        .catch((error: unknown) => log.warn({ err: error }, 'server heartbeat failed'))
        .finally(() => {
          this.beat = undefined;
        });
    }, this.deps.heartbeatMs);
    this.timer.unref();
  }

  /** A graceful close: this process is gone at once rather than after a few missed beats. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.beat;
    await this.deps.models.ServerInstance.deleteOne({ _id: this.deps.serverId });
  }

  /** Ids of the server processes alive now (this one included). */
  async alive(): Promise<string[]> {
    const now = Date.now();
    if (this.recent && now - this.recent.at < this.deps.heartbeatMs / 2) return this.recent.ids;
    const ids = this.deps.models.ServerInstance.find()
      .select({ _id: 1, seenAt: 1, heartbeatMs: 1 })
      .lean()
      .then((instances) =>
        instances
          .filter((instance) => now - instance.seenAt.getTime() <= MISSED_BEATS_DEAD * instance.heartbeatMs)
          .map((instance) => instance._id),
      );
    this.recent = { at: now, ids };
    ids.catch(() => {
      if (this.recent?.ids === ids) this.recent = undefined;
    });
    return ids;
  }

  private async heartbeat(): Promise<void> {
    const { ServerInstance } = this.deps.models;
    // An upsert: if this process stalled so long that another reaped it, it comes back.
    await ServerInstance.updateOne(
      { _id: this.deps.serverId },
      {
        $set: { seenAt: new Date(), heartbeatMs: this.deps.heartbeatMs },
        $setOnInsert: { hostname: hostname(), pid: process.pid, startedAt: new Date() },
      },
      { upsert: true },
    );
    const now = Date.now();
    const dead = await ServerInstance.find({
      _id: trusted({ $ne: this.deps.serverId }),
      seenAt: trusted({ $lt: new Date(now - MISSED_BEATS_REAPED * this.deps.heartbeatMs) }),
    })
      .select({ _id: 1, seenAt: 1, heartbeatMs: 1 })
      .lean();
    for (const instance of dead) {
      if (now - instance.seenAt.getTime() <= MISSED_BEATS_REAPED * instance.heartbeatMs) continue;
      log.warn(
        { serverId: instance._id, seenAt: instance.seenAt },
        'server process stopped without closing; cleaning up after it',
      );
      await this.deps.onDead(instance._id);
      await ServerInstance.deleteOne({ _id: instance._id, seenAt: instance.seenAt });
    }
  }
}
