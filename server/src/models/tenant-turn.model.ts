import { Schema, type Connection, type Model } from 'mongoose';

/**
 * A tenant's place in weighted fair share (queue/fair-share.ts): the virtual start and
 * finish tags of the last job the dispatcher started for it, and when. The document
 * `_id: "*"` holds the virtual time itself (the largest start tag handed out).
 * Platform-owned and apart from the tenant document: on FerretDB an update is a
 * read-modify-write of the whole document, so writing this on the tenant could undo an
 * operator's concurrent change of its name or origins. A lost update here only nudges
 * whose turn is next.
 */
export interface TenantTurn {
  /** The tenant id, or `*` for the virtual time. */
  _id: string;
  lastServedAt: Date;
  start: number;
  finish: number;
}

const tenantTurnSchema = new Schema<TenantTurn>(
  {
    _id: { type: String, required: true },
    lastServedAt: { type: Date, required: true },
    start: { type: Number, default: 0 },
    finish: { type: Number, default: 0 },
  },
  { collection: 'tenant_turns', versionKey: false },
);

export function tenantTurnModel(connection: Connection): Model<TenantTurn> {
  return connection.model<TenantTurn>('TenantTurn', tenantTurnSchema);
}
