import { Schema, type Connection, type Model, type HydratedDocument } from 'mongoose';
import { TENANT_STATUSES, type TenantStatus } from '@atelier/protocol';

/**
 * A business using Atelier. Platform-owned: it is the tenant, so it has no tenantId.
 * A deleted tenant stays as a tombstone (status `deleted`, name and origins blanked) so
 * that its id is never issued again and its keys can never authenticate again.
 */
export interface Tenant {
  _id: string;
  name: string;
  plan: string;
  /** Origins (scheme://host[:port]) whose pages may open the widget socket. */
  origins: string[];
  status: TenantStatus;
  deletedAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

export type TenantDocument = HydratedDocument<Tenant>;

const tenantSchema = new Schema<Tenant>(
  {
    _id: { type: String, required: true },
    name: {
      type: String,
      trim: true,
      maxlength: 200,
      required: function (this: Tenant) {
        return this.status !== 'deleted';
      },
    },
    plan: { type: String, required: true },
    origins: { type: [String], default: [] },
    status: { type: String, enum: TENANT_STATUSES, default: 'active' },
    deletedAt: { type: Date, default: null },
  },
  { timestamps: true, collection: 'tenants' },
);

export function tenantModel(connection: Connection): Model<Tenant> {
  return connection.model<Tenant>('Tenant', tenantSchema);
}
