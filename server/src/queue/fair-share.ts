import mongoose from 'mongoose';
import type { Models } from '../models/index.js';
import { runAsSystem, runWithTenant } from '../tenancy/tenant-context.js';

const { trusted } = mongoose;

/**
 * Whose turn it is: tenants with runnable work take turns, least recently served first.
 * Turns are kept in `tenant_turns`, written only by dispatchers (see tenant-turn.model.ts
 * for why not on the tenant); a lost update there only nudges whose turn is next.
 */
export class FairShare {
  constructor(private readonly deps: { models: Models }) {}

  /**
   * Active tenants with runnable work, least recently served first. Tenants served
   * equally long ago (in practice: never) go in the order their oldest work has waited,
   * so a tenant that queued later does not jump ahead because of its id. (FerretDB v1
   * has no `$min` accumulator, so that order costs one query per tied tenant.)
   */
  async tenantsInTurn(now: Date): Promise<string[]> {
    const { Generation: Jobs, Tenant, TenantTurn } = this.deps.models;
    const runnable = { status: 'queued' as const, notBefore: trusted({ $lte: now }) };
    const { tenants, turns } = await runAsSystem('dispatch: find tenants with queued work', async () => {
      const ids = (await Jobs.distinct('tenantId', runnable)).filter((id): id is string => typeof id === 'string');
      if (ids.length === 0) return { tenants: [], turns: [] };
      const [active, served] = await Promise.all([
        Tenant.find({ _id: trusted({ $in: ids }), status: 'active' })
          .select({ _id: 1 })
          .lean(),
        TenantTurn.find({ _id: trusted({ $in: ids }) }).lean(),
      ]);
      return { tenants: active.map((tenant) => tenant._id), turns: served };
    });
    const lastServed = new Map(turns.map((turn) => [turn._id, turn.lastServedAt.getTime()]));
    const servedAt = (tenantId: string) => lastServed.get(tenantId) ?? 0;
    const waitingSince = new Map<string, number>();
    await Promise.all(
      tenants
        .filter((tenantId) => tenants.some((other) => other !== tenantId && servedAt(other) === servedAt(tenantId)))
        .map(async (tenantId) => {
          const oldest = await runWithTenant(tenantId, () =>
            Jobs.findOne(runnable).sort({ queuedAt: 1, _id: 1 }).select({ queuedAt: 1 }).lean(),
          );
          waitingSince.set(tenantId, oldest?.queuedAt.getTime() ?? Number.POSITIVE_INFINITY);
        }),
    );
    const waited = (tenantId: string) => waitingSince.get(tenantId) ?? 0;
    return tenants.sort((a, b) => servedAt(a) - servedAt(b) || waited(a) - waited(b) || a.localeCompare(b));
  }

  async served(tenantId: string, at: Date): Promise<void> {
    await runAsSystem('dispatch: record fair-share turn', () =>
      this.deps.models.TenantTurn.updateOne({ _id: tenantId }, { $set: { lastServedAt: at } }, { upsert: true }),
    ).catch((error: unknown) => {
      // Two dispatchers created the tenant's first turn at once; either time will do.
      if ((error as { code?: number }).code !== 11000) throw error;
    });
  }
}
