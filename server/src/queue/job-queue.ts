import mongoose from 'mongoose';
import type { Models } from '../models/index.js';
import type { Generation, JobError, StoredImage } from '../models/generation.model.js';
import { isRetryable, type Code, type JobProgress, type JobStatus, type PublicImage } from '@atelier/protocol';
import { runAsSystem, runWithTenant } from '../tenancy/tenant-context.js';
import { createLogger } from '../logging/logger.js';
import type { JobEvents } from './job-events.js';
import { KeyedLock } from './keyed-lock.js';
import type { QueueEstimator } from './queue-estimator.js';

const { trusted } = mongoose;
const log = createLogger('job-queue');

export interface Lease {
  jobId: string;
  tenantId: string;
  epoch: number;
}

export interface JobQueueDeps {
  models: Models;
  events: JobEvents;
  presentImages(tenantId: string, images: StoredImage[]): PublicImage[];
  estimator: QueueEstimator;
  leaseMs: number;
  /** Delay before the n-th retry (1-based). */
  retryDelayMs?(attempt: number): number;
  now?(): Date;
}

export type Outcome = 'applied' | 'stale';

/** Why a job attempt failed; whether it is retried follows from the code's registry entry. */
export interface JobFailure {
  code: Code;
  message: string;
}

export interface FailOptions {
  /**
   * Wait the retry backoff before the job may run again (default). Off when the runner
   * was lost rather than the job failing: nothing suggests waiting would help.
   */
  backoff?: boolean;
}

/** How many of a tenant's oldest runnable jobs one claim attempt considers at a time. */
const CLAIM_CANDIDATES = 8;

const ACTIVE: JobStatus[] = ['queued', 'running'];

/**
 * The durable queue: every transition of a job is one conditional single-document
 * update, fenced by status and (for runner-reported transitions) by lease epoch, so
 * two servers, a late runner and the lease sweeper can race without double effects.
 * Each applied transition publishes exactly one event. FerretDB v1 performs a
 * conditional update as read-then-write, so within this process each job's transitions
 * also take a per-job lock; across several processes only MongoDB makes them atomic.
 */
export class JobQueue {
  private readonly now: () => Date;
  private readonly retryDelayMs: (attempt: number) => number;
  /** Serialises this process's transitions of one job (see KeyedLock for why). */
  private readonly locks = new KeyedLock();

  constructor(private readonly deps: JobQueueDeps) {
    this.now = deps.now ?? (() => new Date());
    this.retryDelayMs = deps.retryDelayMs ?? ((attempt) => Math.min(60_000, 2_000 * 2 ** (attempt - 1)));
  }

  /**
   * Leases the next job to `runnerId`. Fair share: tenants with runnable work take turns,
   * least recently served first; within a tenant, oldest first.
   */
  async claimNext(runnerId: string): Promise<(Generation & Lease) | null> {
    const { Tenant } = this.deps.models;
    const now = this.now();
    for (const tenantId of await this.tenantsInTurn(now)) {
      const job = await runWithTenant(tenantId, () => this.claimOldest(runnerId, now));
      if (!job) continue; // other dispatchers took all of it first
      await runAsSystem('dispatch: record fair-share turn', () =>
        Tenant.updateOne({ _id: tenantId }, { $set: { lastServedAt: now } }),
      );
      log.info({ tenantId, jobId: job._id, runnerId, epoch: job.epoch, attempt: job.attempts }, 'job leased');
      return { ...job, jobId: job._id, tenantId, epoch: job.epoch };
    }
    return null;
  }

  /**
   * Active tenants with runnable work, least recently served first. Tenants served
   * equally long ago (in practice: never) go in the order their oldest work has waited,
   * so a tenant that queued later does not jump ahead because of its id.
   */
  private async tenantsInTurn(now: Date): Promise<string[]> {
    const { Generation: Jobs, Tenant } = this.deps.models;
    const runnable = { status: 'queued' as const, notBefore: trusted({ $lte: now }) };
    const tenants = await runAsSystem('dispatch: find tenants with queued work', async () => {
      const ids = (await Jobs.distinct('tenantId', runnable)) as string[];
      if (ids.length === 0) return [];
      return Tenant.find({ _id: trusted({ $in: ids }), status: 'active' }).select({ _id: 1, lastServedAt: 1 }).lean();
    });
    const servedAt = (tenant: (typeof tenants)[number]) => tenant.lastServedAt?.getTime() ?? 0;
    const waitingSince = new Map<string, number>();
    await Promise.all(
      tenants
        .filter((tenant) => tenants.some((other) => other !== tenant && servedAt(other) === servedAt(tenant)))
        .map(async (tenant) => {
          const oldest = await runWithTenant(tenant._id, () =>
            Jobs.findOne(runnable).sort({ queuedAt: 1, _id: 1 }).select({ queuedAt: 1 }).lean(),
          );
          waitingSince.set(tenant._id, oldest?.queuedAt.getTime() ?? Number.POSITIVE_INFINITY);
        }),
    );
    const waited = (tenant: (typeof tenants)[number]) => waitingSince.get(tenant._id) ?? 0;
    return tenants
      .sort((a, b) => servedAt(a) - servedAt(b) || waited(a) - waited(b) || a._id.localeCompare(b._id))
      .map((tenant) => tenant._id);
  }

  /** Leases the tenant in scope's oldest runnable job, or answers null when none is left. */
  private async claimOldest(runnerId: string, now: Date): Promise<Generation | null> {
    const { Generation: Jobs } = this.deps.models;
    const runnable = { status: 'queued' as const, notBefore: trusted({ $lte: now }) };
    for (;;) {
      const candidates = await Jobs.find(runnable).sort({ queuedAt: 1, _id: 1 }).limit(CLAIM_CANDIDATES).select({ _id: 1 }).lean();
      if (candidates.length === 0) return null;
      for (const { _id } of candidates) {
        const job = await this.locks.run(_id, () =>
          Jobs.findOneAndUpdate(
            { _id, ...runnable },
            {
              $set: {
                status: 'running',
                lease: { runnerId, expiresAt: new Date(now.getTime() + this.deps.leaseMs) },
                startedAt: now,
                'progress.step': 0,
                'progress.stage': 'loading',
              },
              $inc: { epoch: 1, attempts: 1 },
            },
            { returnDocument: 'after' },
          ).lean(),
        );
        if (job) return job;
      }
      // Every candidate went to someone else meanwhile; look again further down the queue.
    }
  }

  /** Extends the lease; 'stale' means the runner no longer holds it. */
  async heartbeat(lease: Lease): Promise<Outcome> {
    return this.whileLeased(lease, {
      $set: { 'lease.expiresAt': new Date(this.now().getTime() + this.deps.leaseMs) },
    });
  }

  async progress(lease: Lease, progress: JobProgress & { preview?: string }, persist: boolean): Promise<Outcome> {
    if (persist) {
      const outcome = await this.whileLeased(lease, {
        $set: {
          progress: { step: progress.step, steps: progress.steps, stage: progress.stage },
          'lease.expiresAt': new Date(this.now().getTime() + this.deps.leaseMs),
        },
      });
      if (outcome === 'stale') return outcome;
    }
    this.deps.events.publish(lease.tenantId, lease.jobId, { type: 'progress', ...progress });
    return 'applied';
  }

  async complete(lease: Lease, images: StoredImage[]): Promise<Outcome> {
    return this.locks.run(lease.jobId, () => this.completeLocked(lease, images));
  }

  private async completeLocked(lease: Lease, images: StoredImage[]): Promise<Outcome> {
    const result = await runWithTenant(lease.tenantId, () =>
      this.deps.models.Generation.updateOne(
        { _id: lease.jobId, epoch: lease.epoch, status: 'running' },
        { $set: { status: 'succeeded', images, lease: null, error: null, finishedAt: this.now() } },
      ),
    );
    if (result.matchedCount === 0) return 'stale';
    this.deps.events.publish(lease.tenantId, lease.jobId, {
      type: 'completed',
      images: this.deps.presentImages(lease.tenantId, images),
    });
    log.info({ tenantId: lease.tenantId, jobId: lease.jobId, images: images.length }, 'job succeeded');
    return 'applied';
  }

  /**
   * A runner reported failure or lost the job. Retryable failures go back to the
   * queue with backoff until `maxAttempts`; the rest fail for good.
   */
  async fail(lease: Lease, failure: JobFailure, options: FailOptions = {}): Promise<'requeued' | 'failed' | 'stale'> {
    const error: JobError = { ...failure, retryable: isRetryable(failure.code) };
    return this.locks.run(lease.jobId, () => runWithTenant(lease.tenantId, () => this.failLocked(lease, error, options)));
  }

  private async failLocked(lease: Lease, error: JobError, options: FailOptions): Promise<'requeued' | 'failed' | 'stale'> {
    const { Generation: Jobs } = this.deps.models;
    const job = await Jobs.findOne({ _id: lease.jobId, epoch: lease.epoch, status: 'running' })
      .select({ attempts: 1, maxAttempts: 1, tenantId: 1, queuedAt: 1 })
      .lean();
    if (!job) return 'stale';
    const retry = error.retryable && job.attempts < job.maxAttempts;
    const now = this.now();
    const update = retry
      ? {
          status: 'queued',
          lease: null,
          error,
          notBefore: new Date(now.getTime() + (options.backoff === false ? 0 : this.retryDelayMs(job.attempts))),
          'progress.step': 0,
          'progress.stage': 'queued',
        }
      : { status: 'failed', lease: null, error, finishedAt: now };
    const result = await Jobs.updateOne({ _id: lease.jobId, epoch: lease.epoch, status: 'running' }, { $set: update });
    if (result.modifiedCount === 0) return 'stale';
    log.warn({ tenantId: lease.tenantId, jobId: lease.jobId, code: error.code, retry }, 'job attempt failed');
    if (retry) {
      const estimate = await this.deps.estimator.estimate(job);
      this.deps.events.publish(lease.tenantId, lease.jobId, { type: 'queued', ...estimate });
      return 'requeued';
    }
    this.deps.events.publish(lease.tenantId, lease.jobId, { type: 'failed', code: error.code, message: error.message });
    return 'failed';
  }

  /** Cancels a queued or running job of the current tenant; returns its lease if it was running. */
  async cancel(jobId: string): Promise<{ canceled: boolean; lease?: { runnerId: string; epoch: number } }> {
    const before = await this.locks.run(jobId, () =>
      this.deps.models.Generation.findOneAndUpdate(
        { _id: jobId, status: trusted({ $in: ACTIVE }) },
        {
          $set: {
            status: 'canceled',
            lease: null,
            finishedAt: this.now(),
            error: { code: 'canceled', message: 'The generation was cancelled.', retryable: false },
          },
        },
        { returnDocument: 'before' },
      ).lean(),
    );
    if (!before) return { canceled: false };
    this.deps.events.publish(before.tenantId, jobId, { type: 'failed', code: 'canceled', message: 'The generation was cancelled.' });
    return before.status === 'running' && before.lease
      ? { canceled: true, lease: { runnerId: before.lease.runnerId, epoch: before.epoch } }
      : { canceled: true };
  }

  /** Returns jobs whose lease ran out (their runner vanished) to the queue. */
  async sweepExpiredLeases(): Promise<number> {
    const expired = await runAsSystem('sweep expired leases', () =>
      this.deps.models.Generation.find({ status: 'running', 'lease.expiresAt': trusted({ $lt: this.now() }) })
        .select({ _id: 1, tenantId: 1, epoch: 1 })
        .limit(100)
        .lean(),
    );
    let swept = 0;
    for (const job of expired) {
      const outcome = await this.fail(
        { jobId: job._id, tenantId: job.tenantId, epoch: job.epoch },
        { code: 'runner_lost', message: 'The GPU runner stopped responding.' },
        { backoff: false },
      );
      if (outcome !== 'stale') swept += 1;
    }
    return swept;
  }

  private async whileLeased(lease: Lease, update: Record<string, unknown>): Promise<Outcome> {
    const result = await this.locks.run(lease.jobId, () =>
      runWithTenant(lease.tenantId, () =>
        this.deps.models.Generation.updateOne({ _id: lease.jobId, epoch: lease.epoch, status: 'running' }, update),
      ),
    );
    return result.matchedCount === 1 ? 'applied' : 'stale';
  }
}
