import mongoose from 'mongoose';
import type { QueueEstimate } from '@atelier/protocol';
import type { Models } from '../models/index.js';
import type { Generation } from '../models/generation.model.js';
import { runWithTenant } from '../tenancy/tenant-context.js';
import type { RunnerRegistry } from './runner-registry.js';

const { trusted } = mongoose;

/**
 * Position and a rough ETA for a queued job. The position counts only the tenant's own
 * jobs ahead (other tenants' queues are theirs to know); the ETA scales by a moving
 * average of recent job durations seen by this server.
 */
export class QueueEstimator {
  private averageJobSeconds = 10;

  constructor(private readonly deps: { models: Models; runners: RunnerRegistry }) {}

  recordDuration(seconds: number): void {
    if (Number.isFinite(seconds) && seconds > 0) this.averageJobSeconds = 0.8 * this.averageJobSeconds + 0.2 * seconds;
  }

  async estimate(job: Pick<Generation, '_id' | 'tenantId' | 'queuedAt'>): Promise<QueueEstimate> {
    const [ahead, runners] = await Promise.all([
      runWithTenant(job.tenantId, () =>
        this.deps.models.Generation.countDocuments({
          status: trusted({ $in: ['queued', 'running'] }),
          queuedAt: trusted({ $lt: job.queuedAt }),
        }),
      ),
      this.deps.runners.countOnline(),
    ]);
    const position = ahead + 1;
    const etaSeconds = runners === 0 ? null : Math.ceil((position * this.averageJobSeconds) / runners);
    return { position, etaSeconds, runners };
  }
}
