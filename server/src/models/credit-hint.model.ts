import { Schema, type Connection, type Model } from 'mongoose';
import { tenantPlugin } from '../tenancy/tenant-plugin.js';

/**
 * Shortcuts into a tenant's credit ledger, each read by `_id` (the one lookup FerretDB v1
 * answers without scanning the collection). Never the truth, only where to look:
 * - `head:<tenantId>`: a seq at or below the ledger's newest entry; the appender
 *   probes forward from it by entry `_id` (`<tenantId>:<seq>`) to the real head. It
 *   is written after each append and may lag behind, never run ahead.
 * - `closing:<tenantId>:<jobId>`: written before a job's reservation is closed, so a
 *   request that has just stored the job can tell at once that its reservation was
 *   handed back (it may exist a moment before the closing entry does).
 */
export interface CreditHint {
  _id: string;
  tenantId: string;
  seq: number;
}

const creditHintSchema = new Schema<CreditHint>(
  {
    _id: { type: String, required: true },
    seq: { type: Number, default: 0 },
  },
  { collection: 'credit_hints', versionKey: false },
);
creditHintSchema.plugin(tenantPlugin);

export function creditHintModel(connection: Connection): Model<CreditHint> {
  return connection.model<CreditHint>('CreditHint', creditHintSchema);
}
