import { Schema, type Connection, type Model } from 'mongoose';
import type { TenantConfig } from '@atelier/protocol';
import type { AuditActor } from './audit-event.model.js';
import { tenantPlugin } from '../tenancy/tenant-plugin.js';

/**
 * One revision of a tenant's configuration. A change never updates a document: it
 * inserts revision `rev + 1`, and the unique index `{tenantId, rev}` lets exactly one of
 * two concurrent writers have it (FerretDB v1 applies updates as read-modify-write, so
 * two overlapping partial updates of one document could silently lose one). The loser
 * re-applies its patch to the new head. The newest revision is the configuration.
 */
export interface TenantConfigRevision {
  _id: string;
  tenantId: string;
  rev: number;
  /** Validated by `tenantConfigSchema` before it is written. */
  config: TenantConfig;
  /** Dotted paths of what this revision changed (empty for the first). */
  changed: string[];
  actor: AuditActor;
  at: Date;
}

const tenantConfigSchema = new Schema<TenantConfigRevision>(
  {
    _id: { type: String, required: true },
    rev: { type: Number, required: true, min: 1 },
    config: { type: Schema.Types.Mixed, required: true },
    changed: { type: [String], default: [] },
    actor: { type: new Schema({ kind: { type: String, required: true }, id: String }, { _id: false }), required: true },
    at: { type: Date, required: true },
  },
  { collection: 'tenant_configs', versionKey: false, minimize: false },
);
tenantConfigSchema.plugin(tenantPlugin);
tenantConfigSchema.index({ tenantId: 1, rev: 1 }, { unique: true });

export function tenantConfigModel(connection: Connection): Model<TenantConfigRevision> {
  return connection.model<TenantConfigRevision>('TenantConfig', tenantConfigSchema);
}
