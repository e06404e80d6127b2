import { Schema, type Connection, type Model } from 'mongoose';

/**
 * When the dispatcher last started one of a tenant's jobs (round-robin fair share).
 * Platform-owned and apart from the tenant document: on FerretDB an update is a
 * read-modify-write of the whole document, so writing this on the tenant could undo
 * an operator's concurrent change of its name or origins. A lost update here only
 * nudges whose turn is next.
 */
export interface TenantTurn {
  /** The tenant id. */
  _id: string;
  lastServedAt: Date;
}

const tenantTurnSchema = new Schema<TenantTurn>(
  {
    _id: { type: String, required: true },
    lastServedAt: { type: Date, required: true },
  },
  { collection: 'tenant_turns', versionKey: false },
);

export function tenantTurnModel(connection: Connection): Model<TenantTurn> {
  return connection.model<TenantTurn>('TenantTurn', tenantTurnSchema);
}
