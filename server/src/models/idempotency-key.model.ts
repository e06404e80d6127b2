import { Schema, type Connection, type Model } from 'mongoose';
import { tenantPlugin } from '../tenancy/tenant-plugin.js';

/**
 * Remembers which generation an `Idempotency-Key` created, and a hash of the request
 * that created it, so a retried POST returns the same job and a reused key with a
 * different body is a conflict. The unique index makes concurrent retries safe.
 */
export interface IdempotencyKey {
  _id: string;
  tenantId: string;
  key: string;
  requestHash: string;
  generationId: string;
  createdAt: Date;
}

const idempotencyKeySchema = new Schema<IdempotencyKey>(
  {
    _id: { type: String, required: true },
    key: { type: String, required: true },
    requestHash: { type: String, required: true },
    generationId: { type: String, required: true },
  },
  { timestamps: { createdAt: true, updatedAt: false }, collection: 'idempotency_keys' },
);
idempotencyKeySchema.plugin(tenantPlugin);
idempotencyKeySchema.index({ tenantId: 1, key: 1 }, { unique: true });

export function idempotencyKeyModel(connection: Connection): Model<IdempotencyKey> {
  return connection.model<IdempotencyKey>('IdempotencyKey', idempotencyKeySchema);
}
