import { Schema, type Connection, type Model } from 'mongoose';
import { AUDIT_ACTIONS, type AuditAction, type AuditActorKind } from '@atelier/protocol';
import { currentScope, TenantScopeError } from '../tenancy/tenant-context.js';
import { tenantPlugin } from '../tenancy/tenant-plugin.js';

/** Who did it (AUDIT_ACTOR_KINDS in @atelier/protocol). */
export interface AuditActor {
  kind: AuditActorKind;
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
