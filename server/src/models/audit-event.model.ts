import { Schema, type Connection, type Model } from 'mongoose';
import { currentScope, TenantScopeError } from '../tenancy/tenant-context.js';
import { tenantPlugin } from '../tenancy/tenant-plugin.js';

/** What an audit event can record. Add to this list; never reuse a name for something else. */
export const AUDIT_ACTIONS = [
  'tenant.created',
  'tenant.updated',
  'tenant.suspended',
  'tenant.reactivated',
  'tenant.deleted',
  'plan.changed',
  'config.changed',
  'key.created',
  'key.rotated',
  'key.revoked',
  'credits.granted',
  'data.exported',
  'data.deleted',
  'content.refused',
] as const;
export type AuditAction = (typeof AUDIT_ACTIONS)[number];

/** Who did it: a tenant's key, a shopper's widget session, the operator (admin API or CLI), the platform itself, or Shopify. */
export interface AuditActor {
  kind: 'key' | 'widget' | 'admin' | 'cli' | 'system' | 'shopify';
  /** The key's id for `key`, the widget session's for `widget`; absent otherwise. */
  id?: string;
}

/**
 * One entry of a tenant's audit log: append-only. Nothing may change an entry, and
 * entries are removed only with the whole tenant (in a system scope that names why).
 */
export interface AuditEvent {
  _id: string;
  tenantId: string;
  at: Date;
  action: AuditAction;
  actor: AuditActor;
  /** What it was done to, e.g. `{kind: 'key', id: 'key_…'}`. */
  target: { kind: string; id: string } | null;
  /** Safe facts only: never a secret, never a prompt. */
  details: Record<string, unknown>;
}

const auditEventSchema = new Schema<AuditEvent>(
  {
    _id: { type: String, required: true },
    at: { type: Date, required: true },
    action: { type: String, enum: AUDIT_ACTIONS, required: true },
    actor: {
      type: new Schema<AuditActor>({ kind: { type: String, required: true }, id: String }, { _id: false }),
      required: true,
    },
    target: { type: new Schema({ kind: String, id: String }, { _id: false }), default: null },
    details: { type: Schema.Types.Mixed, default: {} },
  },
  { collection: 'audit_events', minimize: false },
);
auditEventSchema.plugin(tenantPlugin);
auditEventSchema.index({ tenantId: 1, at: -1, _id: -1 });

// Append-only: updates are refused everywhere; deletes only in a system scope (a tenant's deletion).
for (const operation of ['updateOne', 'updateMany', 'replaceOne', 'findOneAndUpdate', 'findOneAndReplace'] as const) {
  auditEventSchema.pre(operation, () => {
    throw new TenantScopeError(`audit events are append-only: ${operation} is refused`);
  });
}
for (const operation of ['deleteOne', 'deleteMany', 'findOneAndDelete'] as const) {
  auditEventSchema.pre(operation, () => {
    if (currentScope()?.kind !== 'system') throw new TenantScopeError(`audit events are append-only: ${operation} is refused`);
  });
}

export function auditEventModel(connection: Connection): Model<AuditEvent> {
  return connection.model<AuditEvent>('AuditEvent', auditEventSchema);
}
