import type { Model } from 'mongoose';
import { requireTenantId, runAsSystem } from './tenant-context.js';

/**
 * The current tenant's document with this `_id`, or null when there is none or it is
 * another tenant's. FerretDB v1 on SQLite answers a bare `{_id: value}` filter from its
 * primary key but decodes every document of the collection for any other filter, the
 * `tenantId` that tenant-plugin.ts adds included: on the queue's and the ledger's hot
 * paths that turned each lookup by id into a scan of all jobs or all ledger entries.
 * So this reads by `_id` alone, outside the plugin, and makes the same tenant check here.
 */
export async function findOwnById<T extends { tenantId: string }>(model: Model<T>, id: string): Promise<T | null> {
  const tenantId = requireTenantId();
  const found = await runAsSystem('read by _id; the tenant is checked by the caller', () => model.findById(id).lean<T>());
  return found?.tenantId === tenantId ? found : null;
}
