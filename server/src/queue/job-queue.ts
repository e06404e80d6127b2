import mongoose from 'mongoose';
import type { Performance } from '@atelier/protocol';
import type { Models } from '../models/index.js';
import type { Generation, JobError, StoredImage } from '../models/generation.model.js';
import type { JobTransition } from '../models/job-transition.model.js';
import {
  MODES,
  backoffDelay,
  isRetryable,
  type BackoffOptions,
  type Code,
  type GenerationMode,
  type JobProgress,
  type JobStatus,
  type PublicImage,
} from '@atelier/protocol';
import { findOwnById } from '../tenancy/find-own-by-id.js';
import { requireTenantId, runAsSystem, runWithTenant } from '../tenancy/tenant-context.js';
import { createLogger } from '../logging/logger.js';
import { FairShare, type Turn } from './fair-share.js';
import type { JobEvents } from './job-events.js';
import { JobTransitions, type TransitionResult } from './job-transitions.js';
import { LeaseStore } from './lease-store.js';
import type { QueueEstimator } from './queue-estimator.js';
import type { Closing } from '../services/credit-ledger.js';
import type { PlanService } from '../services/plans.js';

const { trusted } = mongoose;
const log = createLogger('job-queue');

/** Waits before a failed job runs again: full jitter under a ceiling from 2 s doubling to a minute. */
const RETRY_BACKOFF: BackoffOptions = { initialMs: 2_000, maxMs: 60_000 };

export interface Lease {
  jobId: string;
  tenantId: string;
  epoch: number;
}

export interface JobQueueDeps {
  models: Models;
  events: JobEvents;
  presentImages(tenantId: string, images: StoredImage[], shopperId?: string | null): PublicImage[];
  estimator: QueueEstimator;
  /** Closes a finished job's credit reservation (tenant scope); once per job however often it is called. */
  credits: { close(jobId: string, closing: Closing): Promise<unknown> };
  /** Each tenant's plan: its fair-share weight (`queuePriority`) and cap (`concurrentJobs`). */
  plans: Pick<PlanService, 'get'>;
  leaseMs: number;
  /** This server process: recorded on every transition and lease it writes. */
  serverId: string;
  /**
   * Called once a job has ended for good (succeeded, failed, canceled, expired), after
   * its event and its credits: emits the tenant's webhooks. Also called again when a
   * transition is rolled forward, so it must be idempotent.
   */
  finished?(job: Generation): Promise<void>;
  /** Delay before the n-th retry (1-based). */
  retryDelayMs?: (attempt: number) => number;
  now?: () => Date;
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

/** How many expired leases one sweep handles; the next sweep takes the rest. */
const SWEEP_BATCH = 100;

const ACTIVE: JobStatus[] = ['queued', 'running'];
const CANCELED = { code: 'canceled', message: 'The generation was cancelled.' } as const;
const EXPIRED = { code: 'expired', message: 'The generation was not started before its deadline.' } as const;

/**
 * The durable queue. Every change of a job is a fenced transition (job-transitions.ts),
 * so any number of server processes, late runners and lease sweepers can race on one
 * database, FerretDB included, without a job being leased twice or a finished job
 * changing again; runner-reported transitions are also fenced by the lease epoch. A
 * lease's liveness and progress live on its own document (`leases`), written only by
 * the session holding it. Each applied transition publishes exactly one event.
 */
export class JobQueue {
  private readonly now: () => Date;
  private readonly retryDelayMs: (attempt: number) => number;
  private readonly transitions: JobTransitions;
  private readonly leases: LeaseStore;
  private readonly fairShare: FairShare;

  constructor(private readonly deps: JobQueueDeps) {
    this.now = deps.now ?? (() => new Date());
    this.retryDelayMs = deps.retryDelayMs ?? ((attempt) => backoffDelay(attempt, RETRY_BACKOFF));
    this.transitions = new JobTransitions({
      models: deps.models,
      serverId: deps.serverId,
      now: this.now,
      applied: (transition, job, how) => this.applied(transition, job, how),
    });
    this.leases = new LeaseStore({ models: deps.models, serverId: deps.serverId });
    this.fairShare = new FairShare({ models: deps.models, plans: deps.plans });
  }

  /**
   * Leases the next job to `runnerId`. Weighted fair share between tenants (fair-share.ts),
   * within their plans' concurrency caps; within a tenant, highest priority, then oldest first.
   */
  async claimNext(
    runnerId: string,
    modes: readonly GenerationMode[] = MODES,
    performances?: readonly Performance[],
  ): Promise<(Generation & Lease) | null> {
    const now = this.now();
    for (const turn of await this.fairShare.tenantsInTurn(now)) {
      const { tenantId } = turn;
      const job = await this.claimOldest(turn, runnerId, now, modes, performances);
      if (!job) continue; // other dispatchers took all of it first
      await this.fairShare.served(turn, now);
      log.info({ tenantId, jobId: job._id, runnerId, epoch: job.epoch, attempt: job.attempts }, 'job leased');
      return { ...job, jobId: job._id, tenantId, epoch: job.epoch };
    }
    return null;
  }

  /**
   * Leases the first of the tenant's runnable jobs (in the turn's order) this runner can
   * run, or answers null when none is left for it. Each is read again by `_id` before it
   * is claimed, since the turn's list is only what the queue looked like a moment ago.
   */
  private async claimOldest(
    turn: Turn,
    runnerId: string,
    now: Date,
    modes: readonly GenerationMode[],
    performances: readonly Performance[] | undefined,
  ): Promise<Generation | null> {
    const { tenantId } = turn;
    // A runner limited to some presets (the weights it has) is leased only jobs of those.
    const candidates = turn.jobs.filter(
      (job) =>
        modes.includes(job.resolved.mode ?? 'txt2img') && (!performances || performances.includes(job.resolved.performance)),
    );
    return runWithTenant(tenantId, async () => {
      while (candidates.length > 0) {
        const candidate = await findOwnById(this.deps.models.Generation, candidates.shift()!._id);
        if (candidate?.status !== 'queued') continue;
        const result = await this.transitions.apply(
          tenantId,
          candidate._id,
          (job) =>
            job.status === 'queued' && job.notBefore.getTime() <= now.getTime()
              ? {
                  kind: 'claim',
                  runnerId,
                  set: {
                    status: 'running',
                    epoch: job.epoch + 1,
                    attempts: job.attempts + 1,
                    lease: { runnerId },
                    startedAt: now,
                    progress: { step: 0, steps: job.progress.steps, stage: 'loading' },
                  },
                }
              : null,
          {
            whenContended: 'give-up',
            snapshot: candidate,
            beforeWrite: (transition) => this.openLease(transition, runnerId, new Date(now.getTime() + this.deps.leaseMs)),
          },
        );
        if (result.outcome === 'applied') return result.after;
        // Another writer is claiming or cancelling it right now. Dispatchers in other
        // processes walk the same oldest-first list: step out of their way rather than
        // losing the next race to them too.
        if (result.before?.status === 'queued') shuffle(candidates);
      }
      return null;
    });
  }

  /**
   * The claim's lease document, written before the job says `running`, so that a job
   * never runs without a lease that can expire.
   */
  private async openLease(claim: JobTransition, runnerId: string, expiresAt: Date): Promise<void> {
    await this.leases.open({ jobId: claim.jobId, epoch: claim.epoch, runnerId, expiresAt, progress: claim.set.progress });
  }

  /** Extends the lease; 'stale' means the runner no longer holds it. */
  async heartbeat(lease: Lease): Promise<Outcome> {
    return this.touchLease(lease, { expiresAt: new Date(this.now().getTime() + this.deps.leaseMs) });
  }

  /** Every step reaches this process's watchers; `persist` (about once a second) also stores it and extends the lease. */
  async progress(lease: Lease, progress: JobProgress & { preview?: string }, persist: boolean): Promise<Outcome> {
    if (persist) {
      const outcome = await this.touchLease(lease, {
        progress: { step: progress.step, steps: progress.steps, stage: progress.stage },
        expiresAt: new Date(this.now().getTime() + this.deps.leaseMs),
      });
      if (outcome === 'stale') return outcome;
    }
    this.deps.events.publish(lease.tenantId, lease.jobId, { type: 'progress', ...progress }, lease.epoch);
    return 'applied';
  }

  /**
   * Whether the job still runs under this lease, or how it ended: a runner session asks
   * once it has handed the job over, to learn of a cancel that landed between the claim
   * and the moment it started listening for the job's events.
   */
  async leaseState(lease: Lease): Promise<'held' | 'canceled' | 'lost'> {
    const job = await runWithTenant(lease.tenantId, () => findOwnById(this.deps.models.Generation, lease.jobId));
    if (holds(job, lease)) return 'held';
    return job?.status === 'canceled' && job.epoch === lease.epoch ? 'canceled' : 'lost';
  }

  /** Writes the lease document, if the job still runs under this lease. */
  private async touchLease(lease: Lease, set: { expiresAt: Date; progress?: JobProgress }): Promise<Outcome> {
    return runWithTenant(lease.tenantId, async () => {
      const job = await findOwnById(this.deps.models.Generation, lease.jobId);
      if (!holds(job, lease)) return 'stale';
      return (await this.leases.extend(lease.jobId, lease.epoch, set)) ? 'applied' : 'stale';
    });
  }

  async complete(lease: Lease, images: StoredImage[]): Promise<Outcome> {
    const now = this.now();
    const result = await this.transitions.apply(lease.tenantId, lease.jobId, (job) =>
      holds(job, lease)
        ? {
            kind: 'complete',
            set: {
              status: 'succeeded',
              images,
              lease: null,
              error: null,
              finishedAt: now,
              progress: { step: job.progress.steps, steps: job.progress.steps, stage: 'uploading' },
            },
          }
        : null,
    );
    return result.outcome;
  }

  /**
   * A runner reported failure or lost the job. Retryable failures go back to the
   * queue with backoff until `maxAttempts`; the rest fail for good.
   */
  async fail(lease: Lease, failure: JobFailure, options: FailOptions = {}): Promise<'requeued' | 'failed' | 'stale'> {
    return outcome(await this.failAttempt(lease, failure, options, 'fail'));
  }

  private async failAttempt(
    lease: Lease,
    failure: JobFailure,
    options: FailOptions,
    kind: 'fail' | 'expire',
  ): Promise<TransitionResult> {
    const error: JobError = { ...failure, retryable: isRetryable(failure.code) };
    const now = this.now();
    return this.transitions.apply(lease.tenantId, lease.jobId, (job) => {
      if (!holds(job, lease)) return null;
      const retry = error.retryable && job.attempts < job.maxAttempts;
      const delay = options.backoff === false ? 0 : this.retryDelayMs(job.attempts);
      return {
        kind,
        set: retry
          ? {
              status: 'queued',
              lease: null,
              error,
              notBefore: new Date(now.getTime() + delay),
              progress: { step: 0, steps: job.progress.steps, stage: 'queued' },
            }
          : { status: 'failed', lease: null, error, finishedAt: now },
      };
    });
  }

  /** Cancels a queued or running job of the current tenant; returns its lease if it was running. */
  async cancel(jobId: string): Promise<{ canceled: boolean; lease?: { runnerId: string; epoch: number } }> {
    const now = this.now();
    const result = await this.transitions.apply(requireTenantId(), jobId, (job) =>
      ACTIVE.includes(job.status)
        ? { kind: 'cancel', set: { status: 'canceled', lease: null, finishedAt: now, error: { ...CANCELED, retryable: false } } }
        : null,
    );
    if (result.outcome === 'stale') return { canceled: false };
    const { before } = result;
    return before.status === 'running' && before.lease
      ? { canceled: true, lease: { runnerId: before.lease.runnerId, epoch: before.epoch } }
      : { canceled: true };
  }

  /**
   * Returns jobs whose lease ran out (their runner, or its server process, vanished) to
   * the queue, and retires leases whose job has moved on.
   */
  async sweepExpiredLeases(): Promise<number> {
    const now = this.now();
    let swept = 0;
    for (const lease of await this.leases.expired(now, SWEEP_BATCH)) {
      const result = await this.failAttempt(
        lease,
        { code: 'runner_lost', message: 'The GPU runner stopped responding.' },
        { backoff: false },
        'expire',
      );
      if (result.outcome === 'applied') {
        swept += 1;
        continue;
      }
      // A job still below this epoch has a claim recorded but not yet applied (see
      // job-transitions.ts): once rolled forward it runs under this lease, so keep it.
      const job = result.before;
      if (!job || job.epoch > lease.epoch || (job.epoch === lease.epoch && job.status !== 'running')) {
        await this.leases.retire(lease, now);
      }
    }
    return swept;
  }

  /**
   * Expires queued jobs that were never started and whose deadline has passed: they
   * end `expired`, and their reservation is handed back.
   */
  async sweepDeadlines(): Promise<number> {
    const now = this.now();
    const overdue = await runAsSystem('sweep job deadlines', () =>
      this.deps.models.Generation.find({ status: 'queued', startedAt: null, deadline: trusted({ $lt: now }) })
        .sort({ deadline: 1 })
        .limit(SWEEP_BATCH)
        .select({ _id: 1, tenantId: 1 })
        .lean(),
    );
    let expired = 0;
    for (const job of overdue) {
      if (await this.expireUnstarted(job.tenantId, job._id, now)) expired += 1;
    }
    return expired;
  }

  /**
   * Ends a job that has not started as `expired` (its deadline passed, or its
   * reservation was handed back before the job existed: reservation-sweeper.ts).
   */
  async expireUnstarted(tenantId: string, jobId: string, now = this.now()): Promise<boolean> {
    const result = await this.transitions.apply(tenantId, jobId, (job) =>
      job.status === 'queued' && !job.startedAt
        ? { kind: 'deadline', set: { status: 'expired', lease: null, finishedAt: now, error: { ...EXPIRED, retryable: false } } }
        : null,
    );
    return result.outcome === 'applied';
  }

  /**
   * Takes one image off a finished job of the current tenant (`DELETE /v1/images/:id`),
   * as a fenced transition like every other change of a job: FerretDB's read → write-back
   * updates could otherwise lose or undo it beside another writer. False when the job no
   * longer holds the image (another request took it off first).
   */
  async removeImage(jobId: string, imageId: string): Promise<boolean> {
    const result = await this.transitions.apply(requireTenantId(), jobId, (job) =>
      job.images.some((image) => image._id === imageId)
        ? { kind: 'remove-image', set: { images: job.images.filter((image) => image._id !== imageId) } }
        : null,
    );
    return result.outcome === 'applied';
  }

  /** The job's transitions in order (tenant scope): its attempts, who ran them, and when. */
  async history(jobId: string): Promise<JobTransition[]> {
    return this.transitions.history(jobId);
  }

  /** Publishes the transition's event and ends the lease it ended; runs in the tenant's scope. */
  private async applied(transition: JobTransition, job: Generation, how: { rolledForward: boolean }): Promise<void> {
    const { tenantId, jobId, epoch } = transition;
    const { events } = this.deps;
    switch (transition.kind) {
      // The job ended long ago: nothing to announce, no lease, no webhook again.
      case 'remove-image':
        return;
      case 'claim':
        // Its writer died before opening the lease: open one that has already expired,
        // so the sweeper hands the job to someone else.
        if (how.rolledForward) await this.openLease(transition, job.lease?.runnerId ?? 'unknown', new Date(0));
        // Its watchers see it start, and the tenant's other queued jobs move up (queue-watch.ts).
        events.publish(tenantId, jobId, { type: 'progress', step: 0, steps: job.progress.steps, stage: 'loading' }, epoch);
        return;
      case 'complete':
        events.publish(
          tenantId,
          jobId,
          { type: 'completed', images: this.deps.presentImages(tenantId, job.images, job.shopperId) },
          epoch,
        );
        log.info({ tenantId, jobId, images: job.images.length }, 'job succeeded');
        await this.deps.credits.close(jobId, {
          kind: 'settle',
          usage: { preset: job.resolved.performance, images: job.images.length },
        });
        break;
      case 'cancel':
        events.publish(tenantId, jobId, { type: 'failed', ...CANCELED }, epoch);
        await this.deps.credits.close(jobId, { kind: 'release', reason: 'canceled' });
        break;
      case 'deadline':
        events.publish(tenantId, jobId, { type: 'failed', ...EXPIRED }, epoch);
        log.info({ tenantId, jobId }, 'job expired before it started');
        await this.deps.credits.close(jobId, { kind: 'expire', reason: 'not started before its deadline' });
        break;
      case 'fail':
      case 'expire':
        log.warn({ tenantId, jobId, code: job.error?.code, status: job.status }, 'job attempt failed');
        if (job.status === 'queued') {
          events.publish(tenantId, jobId, { type: 'queued', ...(await this.deps.estimator.estimate(job)) }, epoch);
          events.announceWork();
        } else {
          events.publish(tenantId, jobId, { type: 'failed', code: job.error!.code, message: job.error!.message }, epoch);
          await this.deps.credits.close(jobId, { kind: 'release', reason: job.error!.code });
        }
        break;
    }
    if (transition.from === 'running') await this.leases.end(jobId, epoch, this.now());
    if (job.finishedAt && job.status !== 'queued' && job.status !== 'running') await this.deps.finished?.(job);
  }
}

/** Whether the job still runs under this lease (and belongs to its tenant: the read was scoped). */
function holds(job: Pick<Generation, 'status' | 'epoch'> | null, lease: Lease): boolean {
  return job?.status === 'running' && job.epoch === lease.epoch;
}

function shuffle<T>(items: T[]): void {
  for (let i = items.length - 1; i > 0; i -= 1) {
    const j = Math.floor(Math.random() * (i + 1));
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
}

function outcome(result: TransitionResult): 'requeued' | 'failed' | 'stale' {
  if (result.outcome === 'stale') return 'stale';
  return result.after.status === 'queued' ? 'requeued' : 'failed';
}
