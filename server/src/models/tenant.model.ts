import { Schema, type Connection, type Model, type HydratedDocument } from 'mongoose';

/** A business using Atelier. Platform-owned: it is the tenant, so it has no tenantId. */
export interface Tenant {
  _id: string;
  name: string;
  plan: string;
  /** Origins (scheme://host[:port]) whose pages may open the widget socket. */
  origins: string[];
  status: 'active' | 'suspended';
  createdAt: Date;
  updatedAt: Date;
}

export type TenantDocument = HydratedDocument<Tenant>;

const tenantSchema = new Schema<Tenant>(
  {
    _id: { type: String, required: true },
    name: { type: String, required: true, trim: true, maxlength: 200 },
    plan: { type: String, required: true },
    origins: { type: [String], default: [] },
    status: { type: String, enum: ['active', 'suspended'], default: 'active' },
  },
  { timestamps: true, collection: 'tenants' },
);

export function tenantModel(connection: Connection): Model<Tenant> {
  return connection.model<Tenant>('Tenant', tenantSchema);
}
