import { Schema, type Connection, type Model } from 'mongoose';
import { CREDIT_ENTRY_KINDS, type CreditEntryKind, type Performance } from '@atelier/protocol';
import type { AuditActor } from './audit-event.model.js';
import { currentScope, TenantScopeError } from '../tenancy/tenant-context.js';
import { tenantPlugin } from '../tenancy/tenant-plugin.js';

/**
 * One movement of a tenant's credits: append-only, integers only (credits are the
 * smallest unit). Each entry carries the tenant's running totals after it, so the
 * newest entry is the balance and no counter is ever updated in place.
 *
 * Two unique indexes decide every concurrent append, because an insert under a unique
 * index is the only write FerretDB v1 (and MongoDB) makes atomic without transactions:
 * - `{tenantId, seq}`: an append is "insert seq = head + 1 with totals = head's totals +
 *   this movement". Of two writers that read the same head, one wins and the other
 *   gets a duplicate key and retries on the new head, so the totals never skip a
 *   movement and seq has no gaps.
 * - `{tenantId, key}`: the movement's identity. A grant's is `grant:<id or the
 *   caller's idempotency key>`; a job's movements are `<kind>:<jobId>` (one reserve,
 *   then one settle, release or expire), so replaying any step of a job is harmless.
 */
export interface CreditEntry {
  /** `<tenantId>:<seq>`, so the appender finds the head by `_id` (see credit-hint.model.ts). */
  _id: string;
  tenantId: string;
  seq: number;
  kind: CreditEntryKind;
  key: string;
  /** Change of the balance: + for a grant, − for a settlement. */
  amount: number;
  /** Change of the reserved credits: + for a reservation, − when it is settled, released or expires. */
  reservedChange: number;
  balance: number;
  reserved: number;
  jobId: string | null;
  reason: string;
  /** On a settlement: what was charged for, which `GET /v1/usage` sums. */
  usage: { preset: Performance; images: number } | null;
  actor: AuditActor;
  at: Date;
}

const integer = { validator: Number.isSafeInteger, message: '{PATH} must be an integer' };

const creditEntrySchema = new Schema<CreditEntry>(
  {
    _id: { type: String, required: true },
    seq: { type: Number, required: true, min: 1, validate: integer },
    kind: { type: String, enum: CREDIT_ENTRY_KINDS, required: true },
    key: { type: String, required: true },
    amount: { type: Number, required: true, validate: integer },
    reservedChange: { type: Number, required: true, validate: integer },
    balance: { type: Number, required: true, validate: integer },
    reserved: { type: Number, required: true, validate: integer },
    jobId: { type: String, default: null },
    reason: { type: String, default: '' },
    usage: { type: new Schema({ preset: String, images: Number }, { _id: false }), default: null },
    actor: { type: new Schema({ kind: { type: String, required: true }, id: String }, { _id: false }), required: true },
    at: { type: Date, required: true },
  },
  { collection: 'credit_entries', versionKey: false },
);
creditEntrySchema.plugin(tenantPlugin);
creditEntrySchema.index({ tenantId: 1, seq: 1 }, { unique: true });
creditEntrySchema.index({ tenantId: 1, key: 1 }, { unique: true });
creditEntrySchema.index({ tenantId: 1, kind: 1, at: 1 });

// Append-only, as the audit log: an entry is never rewritten, and removed only with its tenant (system scope).
for (const operation of ['updateOne', 'updateMany', 'replaceOne', 'findOneAndUpdate', 'findOneAndReplace'] as const) {
  creditEntrySchema.pre(operation, () => {
    throw new TenantScopeError(`credit entries are append-only: ${operation} is refused`);
  });
}
for (const operation of ['deleteOne', 'deleteMany', 'findOneAndDelete'] as const) {
  creditEntrySchema.pre(operation, () => {
    if (currentScope()?.kind !== 'system') throw new TenantScopeError(`credit entries are append-only: ${operation} is refused`);
  });
}

export function creditEntryModel(connection: Connection): Model<CreditEntry> {
  return connection.model<CreditEntry>('CreditEntry', creditEntrySchema);
}
