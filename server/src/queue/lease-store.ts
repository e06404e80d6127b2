import mongoose from 'mongoose';
import type { JobProgress } from '@atelier/protocol';
import type { Models } from '../models/index.js';
import { leaseId, type LeaseRecord } from '../models/lease.model.js';
import { requireTenantId, runAsSystem, runWithTenant } from '../tenancy/tenant-context.js';

const { trusted } = mongoose;

export type ExpiredLease = Pick<LeaseRecord, '_id' | 'tenantId' | 'jobId' | 'epoch'>;

/**
 * The `leases` collection: one document per lease of a job, opened by the claim's
 * winner and afterwards written only by the runner session holding it (expiry and
 * progress), so its read-modify-writes race nobody; whoever ends the epoch, or the
 * sweeper, marks it ended. Tenant-owned: every call but `expired` runs in the tenant's scope.
 */
export class LeaseStore {
  constructor(private readonly deps: { models: Models; serverId: string }) {}

  /** Opens the lease; a second opening of the same epoch (a rolled-forward claim) is a no-op. */
  async open(lease: {
    jobId: string;
    epoch: number;
    runnerId: string;
    expiresAt: Date;
    progress: JobProgress | undefined;
  }): Promise<void> {
    await this.deps.models.Lease.create({
      _id: leaseId(lease.jobId, lease.epoch),
      ...lease,
      serverId: this.deps.serverId,
    }).catch((error: unknown) => {
      if ((error as { code?: number }).code !== 11000) throw error;
    });
  }

  /** Extends a lease that has not ended; false when it has. */
  async extend(jobId: string, epoch: number, set: { expiresAt: Date; progress?: JobProgress }): Promise<boolean> {
    const result = await this.deps.models.Lease.updateOne({ _id: leaseId(jobId, epoch), endedAt: null }, { $set: set });
    return result.matchedCount === 1;
  }

  async end(jobId: string, epoch: number, at: Date): Promise<void> {
    const id = leaseId(jobId, epoch);
    // By `_id` alone (see find-own-by-id.ts): the id names the job, which the caller's
    // tenant owns, so the tenant filter would narrow nothing and cost a scan of every lease.
    requireTenantId();
    await runAsSystem('end a lease of the tenant in scope', () =>
      this.deps.models.Lease.updateOne({ _id: id }, { $set: { endedAt: at } }),
    );
  }

  /** Open leases that ran out, oldest first, across tenants. */
  async expired(now: Date, limit: number): Promise<ExpiredLease[]> {
    return runAsSystem('sweep expired leases', () =>
      this.deps.models.Lease.find({ endedAt: null, expiresAt: trusted({ $lt: now }) })
        .sort({ expiresAt: 1 })
        .limit(limit)
        .select({ _id: 1, tenantId: 1, jobId: 1, epoch: 1 })
        .lean(),
    );
  }

  async retire(lease: ExpiredLease, at: Date): Promise<void> {
    await runWithTenant(lease.tenantId, () => this.end(lease.jobId, lease.epoch, at));
  }
}
