import { Schema, type Connection, type Model } from 'mongoose';
import { tenantPlugin } from '../tenancy/tenant-plugin.js';

/**
 * One signing secret of an endpoint, numbered upwards: `_id` is `<endpointId>:<seq>`
 * (six digits), so a rotation is the insert of number n + 1 and, of two racing
 * rotations, one insert wins. Never updated: how long the previous secret keeps signing
 * is written on its successor (`predecessorExpiresAt`).
 */
export interface WebhookSecret {
  _id: string;
  tenantId: string;
  endpointId: string;
  seq: number;
  /** `whsec_` + base64; the HMAC key is the base64-decoded part. */
  secret: string;
  /** Until when secret `seq - 1` signs beside this one; null for the first secret. */
  predecessorExpiresAt: Date | null;
  createdAt: Date;
}

const webhookSecretSchema = new Schema<WebhookSecret>(
  {
    _id: { type: String, required: true },
    endpointId: { type: String, required: true },
    seq: { type: Number, required: true },
    secret: { type: String, required: true },
    predecessorExpiresAt: { type: Date, default: null },
    createdAt: { type: Date, required: true },
  },
  { collection: 'webhook_secrets', versionKey: false },
);
webhookSecretSchema.plugin(tenantPlugin);
webhookSecretSchema.index({ tenantId: 1, endpointId: 1, seq: -1 });

export function webhookSecretModel(connection: Connection): Model<WebhookSecret> {
  return connection.model<WebhookSecret>('WebhookSecret', webhookSecretSchema);
}

export function webhookSecretId(endpointId: string, seq: number): string {
  return `${endpointId}:${String(seq).padStart(6, '0')}`;
}
