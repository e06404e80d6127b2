import mongoose from 'mongoose';
import { PERFORMANCES, type Performance } from '@atelier/protocol';
import type { Models } from '../models/index.js';
import type { RunnerRecord } from '../models/runner.model.js';
import { CLOSED, type BreakerState } from './runner-health.js';

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

/** The runners online now, by health (`/readyz`, `/healthz`). */
export interface RunnerCensus {
  online: number;
  /** Online and not cooling down: the runners that can take a job now. */
  healthy: number;
  coolingDown: number;
  /** When the first runner that is cooling down is back in rotation; null when none is. */
  firstBackAt: Date | null;
}

/** Which runners are connected, kept in the database so every server instance agrees. */
export class RunnerRegistry {
  constructor(private readonly deps: RunnerRegistryDeps) {}

  async connected(
    runner: Omit<RunnerRecord, 'state' | 'jobId' | 'connectedAt' | 'lastSeenAt' | keyof BreakerState>,
  ): Promise<void> {
    const now = new Date();
    await this.deps.models.Runner.updateOne(
      { _id: runner._id },
      { $set: { ...runner, ...CLOSED, state: 'idle', jobId: null, connectedAt: now, lastSeenAt: now } },
      { upsert: true },
    );
  }

  async seen(runnerId: string, state: 'idle' | 'busy', jobId: string | null): Promise<void> {
    await this.deps.models.Runner.updateOne({ _id: runnerId }, { $set: { state, jobId, lastSeenAt: new Date() } });
  }

  /** Its circuit breaker, written by the one session that holds the runner (runner-health.ts). */
  async breaker(runnerId: string, state: BreakerState): Promise<void> {
    await this.deps.models.Runner.updateOne({ _id: runnerId }, { $set: state });
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
   * Runners online now that can take a job: connected by a live socket on a server
   * process that is itself alive, and not cooling down after repeated failures. A
   * crashed server's runners stop counting within a few of its heartbeats. This is the
   * count queue estimates divide by (a cooling runner works off no queue).
   */
  async countOnline(): Promise<number> {
    return (await this.census()).healthy;
  }

  /** Runners online now, healthy or cooling down. One small read: runners are few. */
  async census(): Promise<RunnerCensus> {
    const now = new Date();
    const online = await this.deps.models.Runner.find(await this.onlineFilter())
      .select({ coolingDownUntil: 1 })
      .lean();
    const cooling = online
      .map((runner) => runner.coolingDownUntil)
      .filter((until): until is Date => !!until && until > now)
      .sort((a, b) => a.getTime() - b.getTime());
    return {
      online: online.length,
      healthy: online.length - cooling.length,
      coolingDown: cooling.length,
      firstBackAt: cooling[0] ?? null,
    };
  }

  /** Runners online now, and how many of them offer `performance` (advertised it, or advertised no list). */
  async offering(performance: Performance): Promise<{ online: number; offering: number }> {
    // A cooling runner still offers its presets: a request for one waits for it rather than being refused.
    const online = await this.deps.models.Runner.find(await this.onlineFilter())
      .select({ performances: 1 })
      .lean();
    const offering = online.filter((runner) => !runner.performances || runner.performances.includes(performance)).length;
    return { online: online.length, offering };
  }

  /** For each preset, how many runners online now offer it and are not cooling down: one read for all presets. */
  async readyByPreset(): Promise<Map<Performance, number>> {
    const now = new Date();
    const ready = (
      await this.deps.models.Runner.find(await this.onlineFilter())
        .select({ performances: 1, coolingDownUntil: 1 })
        .lean()
    ).filter((runner) => !runner.coolingDownUntil || runner.coolingDownUntil <= now);
    return new Map(
      PERFORMANCES.map((performance) => [
        performance,
        ready.filter((runner) => !runner.performances || runner.performances.includes(performance)).length,
      ]),
    );
  }

  private async onlineFilter() {
    const alive = this.deps.aliveServers ? await this.deps.aliveServers() : undefined;
    return {
      state: trusted({ $in: ['idle', 'busy'] as RunnerRecord['state'][] }),
      lastSeenAt: trusted({ $gte: new Date(Date.now() - HEARD_WITHIN_MS) }),
      ...(alive ? { serverId: trusted({ $in: alive }) } : {}),
    };
  }

  async list(): Promise<RunnerRecord[]> {
    return this.deps.models.Runner.find().sort({ connectedAt: -1 }).limit(200).lean();
  }
}
