import { Schema, type Connection, type Model } from 'mongoose';
import type { AuditActor } from './audit-event.model.js';

/**
 * The platform's record that a tenant was deleted. A tenant's own audit log is deleted
 * with the rest of its data, so this lives apart from it (platform-owned, no
 * tenantId). Written when the deletion starts and completed when it ends, so a
 * deletion interrupted by a crash shows `completedAt: null` and is finished by running
 * it again.
 */
export interface TenantDeletion {
  /** The tenant id. */
  _id: string;
  plan: string;
  actor: AuditActor;
  startedAt: Date;
  completedAt: Date | null;
  /** Documents removed, by collection. */
  documents: Record<string, number>;
  files: number;
}

const tenantDeletionSchema = new Schema<TenantDeletion>(
  {
    _id: { type: String, required: true },
    plan: { type: String, required: true },
    actor: { type: new Schema({ kind: { type: String, required: true }, id: String }, { _id: false }), required: true },
    startedAt: { type: Date, required: true },
    completedAt: { type: Date, default: null },
    documents: { type: Schema.Types.Mixed, default: {} },
    files: { type: Number, default: 0 },
  },
  { collection: 'tenant_deletions', versionKey: false, minimize: false },
);

export function tenantDeletionModel(connection: Connection): Model<TenantDeletion> {
  return connection.model<TenantDeletion>('TenantDeletion', tenantDeletionSchema);
}
