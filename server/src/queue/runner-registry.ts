import mongoose from 'mongoose';
import type { Models } from '../models/index.js';
import type { RunnerRecord } from '../models/runner.model.js';

const { trusted } = mongoose;

/** Runners count as online while they have been heard from within this window. */
const ONLINE_WINDOW_MS = 30_000;

/** Which runners are connected, kept in the database so every server instance agrees. */
export class RunnerRegistry {
  constructor(private readonly deps: { models: Models }) {}

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

  async countOnline(): Promise<number> {
    return this.deps.models.Runner.countDocuments({
      state: trusted({ $in: ['idle', 'busy'] }),
      lastSeenAt: trusted({ $gte: new Date(Date.now() - ONLINE_WINDOW_MS) }),
    });
  }

  async list(): Promise<RunnerRecord[]> {
    return this.deps.models.Runner.find().sort({ connectedAt: -1 }).limit(200).lean();
  }
}
