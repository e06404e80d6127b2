import type { Model } from 'mongoose';
import { shopTenantErasure, type ShopifyConfig } from '@atelier/plugin-shopify';
import type { AuditEventListBody, DeletedTenantBody } from '@atelier/protocol';
import type { AuditActor } from '../models/audit-event.model.js';
import type { Models } from '../models/index.js';
import { AppError, invalidRequest, notFound } from '../errors/app-error.js';
import { createLogger } from '../logging/logger.js';
import { tenantPrefix, type Storage } from '../storage/storage.js';
import { runAsSystem } from '../tenancy/tenant-context.js';
import { tenantPlugin } from '../tenancy/tenant-plugin.js';
import type { AuditQuery } from './audit-log.js';

const log = createLogger('tenant-deletion');

/**
 * The integrations that keep a tenant's data in collections of their own (beside the
 * platform's, on the same connection), each erasing it its own way: the Shopify app's
 * models are scoped by shop, not by `tenantPlugin`, so `tenantOwnedModels` does not see
 * them. With the app's configuration it also cancels the shop's Shopify subscription.
 */
const INTEGRATIONS = [shopTenantErasure];

/**
 * Every model whose documents belong to one tenant: those built with `tenantPlugin`,
 * found by looking, not listed by hand, so a new tenant-owned model is deleted with its
 * tenant without anyone remembering to add it here.
 */
export function tenantOwnedModels(models: Models): Model<unknown>[] {
  // mongoose keeps the plugins applied to a schema in `schema.plugins` (not in its typings).
  return (Object.values(models) as unknown as Model<unknown>[]).filter((model) =>
    (model.schema as unknown as { plugins: { fn: unknown }[] }).plugins.some((plugin) => plugin.fn === tenantPlugin),
  );
}

/**
 * Deletes a tenant's data and leaves its tombstone. In order:
 * 1. the tenant becomes `deleted` (name and origins blanked): its keys stop
 *    authenticating and its queued jobs stop being dispatched from this moment;
 * 2. the platform's `tenant_deletions` record is written (the tenant's own audit log is
 *    about to go);
 * 3. every document of every tenant-owned model (keys, jobs, audit log, ledger,
 *    configuration, …), its fair-share turn, its relayed job events, and what the
 *    integrations keep of it (a Shopify shop's results, billing, sessions; its Shopify
 *    subscription is cancelled first, and if Shopify will not, the deletion stops here);
 * 4. its files (`tenants/<id>/`);
 * 5. the record is completed with what was removed.
 * Every step is idempotent, so a deletion interrupted by a crash is finished by running
 * it again. Work already past authentication when step 1 lands (a request in flight, a
 * runner finishing a job) can still write afterwards; a runner's late result finds its
 * job gone and discards its files, and running the deletion again removes anything else.
 */
export class TenantDeletion {
  private readonly integrations: ReturnType<(typeof INTEGRATIONS)[number]>[];

  constructor(
    private readonly deps: {
      models: Models;
      storage: Storage;
      /** The Shopify app's settings, where it is configured: a shop's subscription is cancelled with them. */
      shopify?: ShopifyConfig | undefined;
      now?: () => Date;
    },
  ) {
    this.integrations = INTEGRATIONS.map((integration) => integration(deps.models.Tenant.db, deps.shopify));
  }

  async delete(tenantId: string, actor: AuditActor): Promise<DeletedTenantBody> {
    const { models } = this.deps;
    const reason = `delete tenant ${tenantId}`;
    return runAsSystem(reason, async () => {
      const tenant = await models.Tenant.findById(tenantId).lean();
      if (!tenant) throw notFound('The tenant');
      const now = this.now();
      const deletedAt = tenant.deletedAt ?? now;
      if (tenant.status !== 'deleted') {
        await models.Tenant.updateOne({ _id: tenantId }, { $set: { status: 'deleted', name: '', origins: [], deletedAt } });
      }
      await models.TenantDeletion.create({ _id: tenantId, plan: tenant.plan, actor, startedAt: now }).catch((error: unknown) => {
        if ((error as { code?: number }).code !== 11000) throw error;
      });

      const documents: Record<string, number> = {};
      for (const model of tenantOwnedModels(models)) {
        const { deletedCount } = await model.deleteMany({ tenantId });
        documents[model.collection.collectionName] = deletedCount;
      }
      documents[models.TenantTurn.collection.collectionName] = (
        await models.TenantTurn.deleteOne({ _id: tenantId })
      ).deletedCount;
      // Relayed events live for seconds and mix tenants in one batch: only this tenant's are taken out.
      await models.JobEventBatch.updateMany({ 'events.tenantId': tenantId }, { $pull: { events: { tenantId } } });
      const warnings: string[] = [];
      for (const integration of this.integrations) {
        const erased = await integration(tenantId, now).catch((error: unknown) => {
          log.error({ err: error, tenantId }, 'tenant deletion stopped');
          // Only the operator deletes tenants: what stopped it (Shopify's answer) is theirs to read.
          throw new AppError('unavailable', `The deletion stopped: ${(error as Error).message}. Run it again to finish it.`, {
            expose: true,
            cause: error,
          });
        });
        Object.assign(documents, erased.documents);
        warnings.push(...erased.warnings);
      }
      const files = await this.deps.storage.deletePrefix(tenantPrefix(tenantId));

      const record = await models.TenantDeletion.findById(tenantId).lean();
      const total = { ...(record?.documents ?? {}) };
      for (const [collection, count] of Object.entries(documents)) total[collection] = (total[collection] ?? 0) + count;
      await models.TenantDeletion.updateOne(
        { _id: tenantId },
        { $set: { completedAt: this.now(), documents: total, files: (record?.files ?? 0) + files } },
      );
      if (warnings.length > 0) log.warn({ tenantId, warnings }, 'tenant deleted with warnings');
      log.info({ tenantId, actor: actor.kind, documents, files }, 'tenant deleted');
      return { tenantId, status: 'deleted', deletedAt: deletedAt.toISOString(), documents, files, warnings };
    });
  }

  /**
   * A deleted tenant's audit log as the operator reads it: its own entries went with its
   * data, so what is left is the platform's record of the deletion (who, when, what was
   * removed) as one `tenant.deleted` entry, whose id is the tenant's. null: no deletion.
   */
  async log(tenantId: string, { cursor, action }: AuditQuery): Promise<AuditEventListBody | null> {
    const record = await runAsSystem('read a tenant deletion', () => this.deps.models.TenantDeletion.findById(tenantId).lean());
    if (!record) return null;
    if (cursor) throw invalidRequest('cursor does not name an audit event of yours');
    if (action && action !== 'tenant.deleted') return { data: [], nextCursor: null };
    const { actor } = record;
    return {
      data: [
        {
          id: record._id,
          at: record.startedAt.toISOString(),
          action: 'tenant.deleted',
          actor: { kind: actor.kind, ...(actor.id ? { id: actor.id } : {}) },
          target: { kind: 'tenant', id: record._id },
          details: {
            plan: record.plan,
            completedAt: record.completedAt?.toISOString() ?? null,
            documents: record.documents,
            files: record.files,
          },
        },
      ],
      nextCursor: null,
    };
  }

  private now(): Date {
    return (this.deps.now ?? (() => new Date()))();
  }
}
