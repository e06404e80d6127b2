import { Schema, type Connection, type Model } from 'mongoose';
import { tenantPlugin } from '../tenancy/tenant-plugin.js';

export type ApiKeyKind = 'secret' | 'publishable';

/**
 * A tenant's API key. Only a SHA-256 of the key is kept: keys are 32 random bytes,
 * so a fast hash is enough and lets the key itself be the lookup (no salt to find).
 */
export interface ApiKey {
  _id: string;
  tenantId: string;
  kind: ApiKeyKind;
  mode: 'live' | 'test';
  hash: string;
  /** Shown in listings so an operator can tell keys apart: `sk_live_…a1b2`. */
  hint: string;
  label: string;
  revokedAt: Date | null;
  lastUsedAt: Date | null;
  createdAt: Date;
}

const apiKeySchema = new Schema<ApiKey>(
  {
    _id: { type: String, required: true },
    kind: { type: String, enum: ['secret', 'publishable'], required: true },
    mode: { type: String, enum: ['live', 'test'], required: true },
    hash: { type: String, required: true, unique: true },
    hint: { type: String, required: true },
    label: { type: String, default: '' },
    revokedAt: { type: Date, default: null },
    lastUsedAt: { type: Date, default: null },
  },
  { timestamps: { createdAt: true, updatedAt: false }, collection: 'api_keys' },
);
apiKeySchema.plugin(tenantPlugin);

export function apiKeyModel(connection: Connection): Model<ApiKey> {
  return connection.model<ApiKey>('ApiKey', apiKeySchema);
}
