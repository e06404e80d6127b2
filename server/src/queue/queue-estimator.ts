import mongoose from 'mongoose';
import type { Performance, QueueEstimate } from '@atelier/protocol';
import type { Models } from '../models/index.js';
import type { Generation } from '../models/generation.model.js';
import type { Plan } from '../models/plan.model.js';
import type { PlanService } from '../services/plans.js';
import { runAsSystem, runWithTenant } from '../tenancy/tenant-context.js';
import { RunTimes } from './run-times.js';
import type { RunnerRegistry } from './runner-registry.js';

const { trusted } = mongoose;

/** How long one process reuses the count of runners per preset and the tenants sharing them. */
const CONDITIONS_CACHE_MS = 1_000;
/**
 * A running job past its expected time is assumed to need this share of it more: it
 * is about to finish, but not this instant.
 */
const OVERDUE_SHARE = 0.1;

export interface QueueEstimatorDeps {
  models: Models;
  runners: Pick<RunnerRegistry, 'readyByPreset'>;
  plans: Pick<PlanService, 'get'>;
  now?: () => Date;
}

/** Estimates of a tenant's queued jobs, by job id. */
type Estimates = Map<string, QueueEstimate>;

type Resolved = Pick<Generation['resolved'], 'performance' | 'imageCount' | 'steps'>;

/** A job as the estimate needs it. */
type QueueJob = Pick<Generation, '_id' | 'status' | 'priority' | 'queuedAt' | 'startedAt'> & { resolved: Resolved };

/** What an estimate depends on beyond the tenant's own jobs; the same for every tenant. */
interface Conditions {
  /** Runners online that offer each preset. */
  runners: Map<Performance, number>;
  /** The plan of each tenant with queued or running work (its fair-share weight and cap). */
  plans: Map<string, Pick<Plan, 'queuePriority' | 'concurrentJobs'>>;
}

/**
 * Queue position and ETA of queued jobs. The position counts only the tenant's own
 * queued jobs ahead, in the order the dispatcher takes them (priority, then age): other
 * tenants' queues are theirs to know. The ETA is the seconds until the job is expected
 * to have finished, modelled as:
 *
 * - each job runs for its preset's recent median time per image × its images (run-times.ts);
 * - the tenant runs `c = min(R, concurrentJobs, R × w / W)` jobs at once, where R is the
 *   runners online that offer the job's preset, w the tenant's plan weight and W the sum
 *   of the weights of every tenant with queued or running work (fair-share.ts serves
 *   backlogged tenants in proportion to their weights);
 * - the tenant's running jobs (with what is left of their expected time) and then its
 *   queued jobs ahead are laid on `max(1, ⌊c⌋)` parallel lanes, each job on the lane
 *   that frees first; below one runner's worth (`c < 1`) every job takes `1 / c` as long.
 *
 * Limits: another tenant with less work than its share is counted at its full share (the
 * estimate errs long); a job that is next still waits for a busy runner to free up,
 * which is not counted (it errs short by up to one job); every job ahead is assumed to
 * run on runners of the job's own preset; and backoff (`notBefore`) is ignored.
 * `etaSeconds` is null while no runner online offers the preset.
 */
export class QueueEstimator {
  private readonly runTimes: RunTimes;
  private conditionsCache: { at: number; conditions: Promise<Conditions> } | undefined;
  /** Per tenant: the read of its queue under way, and the one to follow it that callers since then share. */
  private readonly reads = new Map<string, { current: Promise<Estimates>; next: Promise<Estimates> | undefined }>();

  constructor(private readonly deps: QueueEstimatorDeps) {
    this.runTimes = new RunTimes({ models: deps.models, ...(deps.now ? { now: deps.now } : {}) });
  }

  /** One job's estimate (its tenant's queue is read once). */
  async estimate(job: Pick<Generation, '_id' | 'tenantId'> & { resolved: Resolved }): Promise<QueueEstimate> {
    const estimates = await this.forTenant(job.tenantId);
    // Taken or finished since the caller read it: it waits for nothing now.
    return estimates.get(job._id) ?? (await this.unqueued(job.resolved));
  }

  /**
   * Every queued job of the tenant, by id: one read of its queue, whatever its length,
   * begun after the call. Concurrent callers (a burst of requests, every watcher) share
   * reads: while one is under way, all who call wait for the next, which starts when it ends.
   */
  forTenant(tenantId: string): Promise<Estimates> {
    const read = this.reads.get(tenantId);
    if (!read) return this.startRead(tenantId);
    read.next ??= read.current.then(
      () => this.startRead(tenantId),
      () => this.startRead(tenantId),
    );
    return read.next;
  }

  private startRead(tenantId: string): Promise<Estimates> {
    const read = { current: this.readTenant(tenantId), next: undefined };
    this.reads.set(tenantId, read);
    const done = () => {
      if (this.reads.get(tenantId) === read) this.reads.delete(tenantId);
    };
    read.current.then(done, done);
    return read.current;
  }

  private async readTenant(tenantId: string): Promise<Estimates> {
    const [jobs, conditions, rates] = await Promise.all([this.tenantJobs(tenantId), this.conditions(), this.runTimes.rates()]);
    // The conditions may predate the tenant's first job.
    const plan = conditions.plans.get(tenantId) ?? (await this.plansOf([tenantId])).get(tenantId);
    const weight = weightOf(plan);
    const cap = Math.max(1, plan?.concurrentJobs ?? 1);
    const now = this.now().getTime();
    const running = jobs.filter((job) => job.status === 'running');
    const queued = jobs.filter((job) => job.status === 'queued').sort(dispatchOrder);
    const expected = (job: QueueJob) => RunTimes.expected(rates, job.resolved);
    const remaining = running
      .map((job) => {
        const total = expected(job);
        const elapsed = job.startedAt ? (now - job.startedAt.getTime()) / 1000 : 0;
        return Math.max(total - elapsed, total * OVERDUE_SHARE);
      })
      .sort((a, b) => a - b);
    let totalWeight = weight;
    for (const [id, other] of conditions.plans) if (id !== tenantId) totalWeight += weightOf(other);

    const estimates: Estimates = new Map();
    for (const performance of new Set(queued.map((job) => job.resolved.performance))) {
      const runners = conditions.runners.get(performance) ?? 0;
      const capacity = Math.min(runners, cap, (runners * weight) / totalWeight);
      const lanes = new Array<number>(Math.max(1, Math.floor(capacity))).fill(0);
      const stretch = capacity > 0 && capacity < 1 ? 1 / capacity : 1;
      const place = (seconds: number) => {
        const lane = lanes.indexOf(Math.min(...lanes));
        const start = lanes[lane]!;
        lanes[lane] = start + seconds * stretch;
        return lanes[lane];
      };
      remaining.forEach(place);
      queued.forEach((job, index) => {
        const finish = place(expected(job));
        if (job.resolved.performance !== performance) return;
        estimates.set(job._id, { position: index + 1, etaSeconds: runners === 0 ? null : Math.ceil(finish), runners });
      });
    }
    return estimates;
  }

  /**
   * A fingerprint of what every tenant's estimates depend on (runners per preset, the
   * tenants sharing them, the presets' run times to a tenth of a second): when it
   * changes, every estimate may have.
   */
  async fingerprint(): Promise<string> {
    const [{ runners, plans }, rates] = await Promise.all([this.conditions(), this.runTimes.rates()]);
    return JSON.stringify([
      [...runners].sort(),
      [...plans].map(([id, plan]) => [id, weightOf(plan)]).sort(),
      [...rates].map(([preset, rate]) => [preset, Math.round(rate.perImage * 10)]).sort(),
    ]);
  }

  private async unqueued(resolved: Resolved): Promise<QueueEstimate> {
    const [conditions, rates] = await Promise.all([this.conditions(), this.runTimes.rates()]);
    const runners = conditions.runners.get(resolved.performance) ?? 0;
    return { position: 1, etaSeconds: runners === 0 ? null : Math.ceil(RunTimes.expected(rates, resolved)), runners };
  }

  private tenantJobs(tenantId: string): Promise<QueueJob[]> {
    return runWithTenant(tenantId, () =>
      this.deps.models.Generation.find({ status: trusted({ $in: ['queued', 'running'] }) })
        .select({
          status: 1,
          priority: 1,
          queuedAt: 1,
          startedAt: 1,
          'resolved.performance': 1,
          'resolved.imageCount': 1,
          'resolved.steps': 1,
        })
        .lean<QueueJob[]>(),
    );
  }

  private conditions(): Promise<Conditions> {
    const now = this.now().getTime();
    if (this.conditionsCache && now - this.conditionsCache.at < CONDITIONS_CACHE_MS) return this.conditionsCache.conditions;
    const conditions = this.readConditions();
    this.conditionsCache = { at: now, conditions };
    // A failed read is not kept: the next estimate tries again.
    conditions.catch(() => {
      if (this.conditionsCache?.conditions === conditions) this.conditionsCache = undefined;
    });
    return conditions;
  }

  private async readConditions(): Promise<Conditions> {
    const [offered, active] = await Promise.all([
      this.deps.runners.readyByPreset(),
      runAsSystem('queue estimate: tenants with work', () =>
        this.deps.models.Generation.distinct('tenantId', { status: trusted({ $in: ['queued', 'running'] }) }),
      ),
    ]);
    const plans = await this.plansOf(active.filter((id): id is string => typeof id === 'string'));
    return { runners: offered, plans };
  }

  /** The plans of these tenants, by tenant (one read of the tenants; plans are cached by PlanService). */
  private async plansOf(tenantIds: string[]): Promise<Conditions['plans']> {
    if (tenantIds.length === 0) return new Map();
    const tenants = await runAsSystem('queue estimate: tenant plans', () =>
      this.deps.models.Tenant.find({ _id: trusted({ $in: tenantIds }) })
        .select({ plan: 1 })
        .lean(),
    );
    return new Map(
      await Promise.all(tenants.map(async (tenant) => [tenant._id, await this.deps.plans.get(tenant.plan)] as const)),
    );
  }

  private now(): Date {
    return this.deps.now?.() ?? new Date();
  }
}

function weightOf(plan: Pick<Plan, 'queuePriority'> | undefined): number {
  return Math.max(1, plan?.queuePriority ?? 1);
}

/** The order the dispatcher takes a tenant's jobs in (job-queue.ts `claimOldest`). */
function dispatchOrder(a: QueueJob, b: QueueJob): number {
  return (
    (b.priority ?? 0) - (a.priority ?? 0) ||
    a.queuedAt.getTime() - b.queuedAt.getTime() ||
    (a._id < b._id ? -1 : a._id > b._id ? 1 : 0)
  );
}
