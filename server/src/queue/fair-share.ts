import mongoose from 'mongoose';
import type { Models } from '../models/index.js';
import type { PlanService } from '../services/plans.js';
import { runAsSystem, runWithTenant } from '../tenancy/tenant-context.js';

const { trusted } = mongoose;

/** The `tenant_turns` document that holds the virtual time. */
const CLOCK_ID = '*';

/** A tenant that may be served now, in the order it should be. */
export interface Turn {
  tenantId: string;
  /** The virtual start tag its next job would get. */
  start: number;
  /** Its plan's `queuePriority`: its share of the GPUs relative to other tenants'. */
  weight: number;
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
   * its id. (FerretDB v1 has no `$min` accumulator, so that order costs one query per
   * tied tenant.)
   */
  async tenantsInTurn(now: Date): Promise<Turn[]> {
    const { Generation: Jobs, Tenant, TenantTurn } = this.deps.models;
    const runnable = { status: 'queued' as const, notBefore: trusted({ $lte: now }) };
    const { tenants, turns, running } = await runAsSystem('dispatch: find tenants with queued work', async () => {
      const ids = (await Jobs.distinct('tenantId', runnable)).filter((id): id is string => typeof id === 'string');
      if (ids.length === 0) return { tenants: [], turns: [], running: [] };
      const [active, served, busy] = await Promise.all([
        Tenant.find({ _id: trusted({ $in: ids }), status: 'active' })
          .select({ _id: 1, plan: 1 })
          .lean(),
        TenantTurn.find({ _id: trusted({ $in: [...ids, CLOCK_ID] }) }).lean(),
        Jobs.find({ status: 'running', tenantId: trusted({ $in: ids }) })
          .select({ tenantId: 1 })
          .lean(),
      ]);
      return { tenants: active, turns: served, running: busy };
    });
    const finish = new Map(turns.map((turn) => [turn._id, turn.finish ?? 0]));
    const virtualTime = turns.find((turn) => turn._id === CLOCK_ID)?.start ?? 0;
    const runningCount = new Map<string, number>();
    for (const job of running) runningCount.set(job.tenantId, (runningCount.get(job.tenantId) ?? 0) + 1);

    const candidates: Turn[] = [];
    for (const tenant of tenants) {
      const plan = await this.deps.plans.get(tenant.plan);
      if ((runningCount.get(tenant._id) ?? 0) >= plan.concurrentJobs) continue;
      candidates.push({
        tenantId: tenant._id,
        start: Math.max(virtualTime, finish.get(tenant._id) ?? 0),
        weight: Math.max(1, plan.queuePriority),
      });
    }
    const waitingSince = new Map<string, number>();
    await Promise.all(
      candidates
        .filter((turn) => candidates.some((other) => other !== turn && other.start === turn.start))
        .map(async ({ tenantId }) => {
          const oldest = await runWithTenant(tenantId, () =>
            Jobs.findOne(runnable).sort({ queuedAt: 1, _id: 1 }).select({ queuedAt: 1 }).lean(),
          );
          waitingSince.set(tenantId, oldest?.queuedAt.getTime() ?? Number.POSITIVE_INFINITY);
        }),
    );
    const waited = (tenantId: string) => waitingSince.get(tenantId) ?? 0;
    return candidates.sort(
      (a, b) => a.start - b.start || waited(a.tenantId) - waited(b.tenantId) || a.tenantId.localeCompare(b.tenantId),
    );
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
