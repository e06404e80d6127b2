import mongoose from 'mongoose';
import type { Performance } from '@atelier/protocol';
import type { Models } from '../models/index.js';
import type { RunnerRecord } from '../models/runner.model.js';

const { trusted } = mongoose;

/**
 * A runner that has not been heard from for this long does not count even while its
 * socket looks open (a half-open TCP connection); an idle runner answers the hub's
 * pings well within it.
 */
const HEARD_WITHIN_MS = 30_000;

export interface RunnerRegistryDeps {
  models: Models;
  /** Ids of the live server processes; unset (the CLI): every record with an online state counts. */
  aliveServers?(): Promise<string[]>;
}

/** Which runners are connected, kept in the database so every server instance agrees. */
export class RunnerRegistry {
  constructor(private readonly deps: RunnerRegistryDeps) {}

  async connected(runner: Omit<RunnerRecord, 'state' | 'jobId' | 'connectedAt' | 'lastSeenAt'>): Promise<void> {
    const now = new Date();
    await this.deps.models.Runner.updateOne(
      { _id: runner._id },
      { $set: { ...runner, state: 'idle', jobId: null, connectedAt: now, lastSeenAt: now } },
      { upsert: true },
    );
  }

  async seen(runnerId: string, state: 'idle' | 'busy', jobId: string | null): Promise<void> {
    await this.deps.models.Runner.updateOne({ _id: runnerId }, { $set: { state, jobId, lastSeenAt: new Date() } });
  }

  async disconnected(runnerId: string): Promise<void> {
    await this.deps.models.Runner.updateOne({ _id: runnerId }, { $set: { state: 'offline', jobId: null } });
  }

  /** The runners whose sockets a server process that died held are offline. */
  async serverGone(serverId: string): Promise<void> {
    await this.deps.models.Runner.updateMany(
      { serverId, state: trusted({ $in: ['idle', 'busy'] }) },
      { $set: { state: 'offline', jobId: null } },
    );
  }

  /**
   * Runners online now: connected by a live socket on a server process that is itself
   * alive. A crashed server's runners stop counting within a few of its heartbeats.
   */
  async countOnline(): Promise<number> {
    const alive = this.deps.aliveServers ? await this.deps.aliveServers() : undefined;
    return this.deps.models.Runner.countDocuments({
      state: trusted({ $in: ['idle', 'busy'] }),
      lastSeenAt: trusted({ $gte: new Date(Date.now() - HEARD_WITHIN_MS) }),
      ...(alive ? { serverId: trusted({ $in: alive }) } : {}),
    });
  }

  /** Runners online now, and how many of them offer `performance` (advertised it, or advertised no list). */
  async offering(performance: Performance): Promise<{ online: number; offering: number }> {
    const alive = this.deps.aliveServers ? await this.deps.aliveServers() : undefined;
    const online = await this.deps.models.Runner.find({
      state: trusted({ $in: ['idle', 'busy'] }),
      lastSeenAt: trusted({ $gte: new Date(Date.now() - HEARD_WITHIN_MS) }),
      ...(alive ? { serverId: trusted({ $in: alive }) } : {}),
    })
      .select({ performances: 1 })
      .lean();
    const offering = online.filter((runner) => !runner.performances || runner.performances.includes(performance)).length;
    return { online: online.length, offering };
  }

  async list(): Promise<RunnerRecord[]> {
    return this.deps.models.Runner.find().sort({ connectedAt: -1 }).limit(200).lean();
  }
}
