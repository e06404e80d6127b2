import mongoose from 'mongoose';
import type { Models } from '../models/index.js';
import type { PlanService } from '../services/plans.js';
import type { Generation } from '../models/generation.model.js';
import { runAsSystem } from '../tenancy/tenant-context.js';

const { trusted } = mongoose;

/** The `tenant_turns` document that holds the virtual time. */
const CLOCK_ID = '*';

/** A runnable job as the dispatcher sees it: enough to order and match it, not to run it. */
export interface RunnableJob {
  _id: string;
  priority?: number;
  queuedAt: Date;
  resolved: Pick<Generation['resolved'], 'mode' | 'performance'>;
}

/** A tenant that may be served now, in the order it should be. */
export interface Turn {
  tenantId: string;
  /** The virtual start tag its next job would get. */
  start: number;
  /** Its plan's `queuePriority`: its share of the GPUs relative to other tenants'. */
  weight: number;
  /** Its runnable jobs in the order it wants them run: highest priority, then oldest. */
  jobs: RunnableJob[];
}

/**
 * Weighted fair share over tenants by start-time fair queuing (Goyal et al., 1996):
 * each tenant's next job gets the start tag `max(virtual time, the tenant's last finish
 * tag)`, the smallest start tag goes first, and serving it moves the tenant's finish
 * tag on by `1 / weight` (weight: the plan's `queuePriority`). So backlogged tenants
 * are served in proportion to their weights, and a tenant that queues a job while
 * another floods the queue gets the very next turn: its start tag is the virtual time,
 * which is the flooder's previous start, one of the flooder's `1 / weight` steps behind
 * its next. Tenants at their plan's `concurrentJobs` are skipped. Turns are kept in
 * `tenant_turns` (see tenant-turn.model.ts) and written only by dispatchers; a lost
 * update there only nudges whose turn is next.
 */
export class FairShare {
  constructor(private readonly deps: { models: Models; plans: Pick<PlanService, 'get'> }) {}

  /**
   * Active tenants with runnable work and room under their concurrency cap, smallest
   * start tag first. Equal tags (in practice: tenants never served) go in the order their
   * oldest work has waited, so a tenant that queued later does not jump ahead because of
   * its id. One read of the queued and running jobs answers all of it (which tenants
   * have work, how much of it runs, what waits longest, in what order): on FerretDB v1
   * every query but a lookup by `_id` reads the whole collection, so each query saved
   * is a scan of every job saved.
   */
  async tenantsInTurn(now: Date): Promise<Turn[]> {
    const { Generation: Jobs, Tenant, TenantTurn } = this.deps.models;
    const active = await runAsSystem('dispatch: find tenants with queued work', () =>
      Jobs.find({ status: trusted({ $in: ['queued', 'running'] }) })
        .select({ tenantId: 1, status: 1, notBefore: 1, queuedAt: 1, priority: 1, resolved: 1 })
        .lean(),
    );
    const runnable = new Map<string, RunnableJob[]>();
    const runningCount = new Map<string, number>();
    for (const job of active) {
      if (job.status === 'running') {
        runningCount.set(job.tenantId, (runningCount.get(job.tenantId) ?? 0) + 1);
      } else if (job.notBefore.getTime() <= now.getTime()) {
        const jobs = runnable.get(job.tenantId) ?? [];
        jobs.push({ _id: job._id, priority: job.priority, queuedAt: job.queuedAt, resolved: job.resolved });
        runnable.set(job.tenantId, jobs);
      }
    }
    if (runnable.size === 0) return [];
    const ids = [...runnable.keys()];
    const [tenants, turns] = await runAsSystem('dispatch: read tenants and turns', () =>
      Promise.all([
        Tenant.find({ _id: trusted({ $in: ids }), status: 'active' })
          .select({ _id: 1, plan: 1 })
          .lean(),
        TenantTurn.find({ _id: trusted({ $in: [...ids, CLOCK_ID] }) }).lean(),
      ]),
    );
    const finish = new Map(turns.map((turn) => [turn._id, turn.finish ?? 0]));
    const virtualTime = turns.find((turn) => turn._id === CLOCK_ID)?.start ?? 0;

    const candidates: Turn[] = [];
    for (const tenant of tenants) {
      const plan = await this.deps.plans.get(tenant.plan);
      if ((runningCount.get(tenant._id) ?? 0) >= plan.concurrentJobs) continue;
      candidates.push({
        tenantId: tenant._id,
        start: Math.max(virtualTime, finish.get(tenant._id) ?? 0),
        weight: Math.max(1, plan.queuePriority),
        jobs: runnable
          .get(tenant._id)!
          .sort(
            (a, b) =>
              (b.priority ?? 0) - (a.priority ?? 0) || a.queuedAt.getTime() - b.queuedAt.getTime() || compare(a._id, b._id),
          ),
      });
    }
    const waited = (turn: Turn) => turn.jobs.reduce((oldest, job) => Math.min(oldest, job.queuedAt.getTime()), Infinity);
    return candidates.sort((a, b) => a.start - b.start || waited(a) - waited(b) || a.tenantId.localeCompare(b.tenantId));
  }

  /** Records that the tenant's job with this start tag was started. */
  async served(turn: Turn, at: Date): Promise<void> {
    const { TenantTurn } = this.deps.models;
    await runAsSystem('dispatch: record fair-share turn', async () => {
      const clock = await TenantTurn.findById(CLOCK_ID).select({ start: 1 }).lean();
      await Promise.all([
        upsert(TenantTurn, turn.tenantId, { lastServedAt: at, start: turn.start, finish: turn.start + 1 / turn.weight }),
        upsert(TenantTurn, CLOCK_ID, { lastServedAt: at, start: Math.max(clock?.start ?? 0, turn.start) }),
      ]);
    });
  }
}

async function upsert(model: Models['TenantTurn'], id: string, set: Record<string, unknown>): Promise<void> {
  await model.updateOne({ _id: id }, { $set: set }, { upsert: true }).catch((error: unknown) => {
    // Two dispatchers created the same document at once; either write will do.
    if ((error as { code?: number }).code !== 11000) throw error;
  });
}

/** Binary order, as the database sorts strings (not the locale's). */
function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
