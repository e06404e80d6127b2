import { Schema, type Connection, type Model } from 'mongoose';
import type { LoraComponent } from '@atelier/protocol';
import { tenantPlugin } from '../tenancy/tenant-plugin.js';

/**
 * A LoRA a tenant uploaded. The file lives under the tenant's storage prefix; the unique
 * index `{tenantId, sha256}` makes a second upload of the same bytes find the first one
 * (an insert under a unique index is the one write FerretDB v1 makes atomic).
 */
export interface Lora {
  _id: string;
  tenantId: string;
  name: string;
  sha256: string;
  bytes: number;
  storageKey: string;
  layers: Record<LoraComponent, number>;
  createdAt: Date;
}

const loraSchema = new Schema<Lora>(
  {
    _id: { type: String, required: true },
    name: { type: String, required: true },
    sha256: { type: String, required: true },
    bytes: { type: Number, required: true },
    storageKey: { type: String, required: true },
    layers: { type: Schema.Types.Mixed, required: true },
    createdAt: { type: Date, required: true },
  },
  { collection: 'loras', versionKey: false, minimize: false },
);
loraSchema.plugin(tenantPlugin);
loraSchema.index({ tenantId: 1, sha256: 1 }, { unique: true });
loraSchema.index({ tenantId: 1, createdAt: -1 });

export function loraModel(connection: Connection): Model<Lora> {
  return connection.model<Lora>('Lora', loraSchema);
}
