import { Schema, type Connection, type Model } from 'mongoose';
import { PLATFORM_AUDIT_ACTIONS, type PlatformAuditAction } from '@atelier/protocol';
import { TenantScopeError } from '../tenancy/tenant-context.js';
import type { AuditActor } from './audit-event.model.js';

/**
 * One entry of the platform audit log: an operator action that belongs to no tenant (a
 * plan's limits, a runner token, the shopper-session signing key). Append-only, and kept
 * for good: nothing changes or removes an entry.
 */
export interface PlatformAuditEvent {
  _id: string;
  at: Date;
  action: PlatformAuditAction;
  actor: AuditActor;
  /** What it was done to, e.g. `{kind: 'plan', id: 'pro'}`. */
  target: { kind: string; id: string } | null;
  /** Safe facts only: never a token, never key material. */
  details: Record<string, unknown>;
}

const platformAuditEventSchema = new Schema<PlatformAuditEvent>(
  {
    _id: { type: String, required: true },
    at: { type: Date, required: true },
    action: { type: String, enum: PLATFORM_AUDIT_ACTIONS, required: true },
    actor: {
      type: new Schema<AuditActor>({ kind: { type: String, required: true }, id: String }, { _id: false }),
      required: true,
    },
    target: { type: new Schema({ kind: String, id: String }, { _id: false }), default: null },
    details: { type: Schema.Types.Mixed, default: {} },
  },
  { collection: 'platform_audit_events', minimize: false },
);
platformAuditEventSchema.index({ at: -1, _id: -1 });

// Append-only: unlike a tenant's log there is no deletion that takes it along.
for (const operation of [
  'updateOne',
  'updateMany',
  'replaceOne',
  'findOneAndUpdate',
  'findOneAndReplace',
  'deleteOne',
  'deleteMany',
  'findOneAndDelete',
] as const) {
  platformAuditEventSchema.pre(operation, () => {
    throw new TenantScopeError(`platform audit events are append-only: ${operation} is refused`);
  });
}

export function platformAuditEventModel(connection: Connection): Model<PlatformAuditEvent> {
  return connection.model<PlatformAuditEvent>('PlatformAuditEvent', platformAuditEventSchema);
}
