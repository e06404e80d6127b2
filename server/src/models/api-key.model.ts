import { Schema, type Connection, type Model } from 'mongoose';
import { KEY_SCOPES, type KeyKind, type KeyMode, type KeyScope } from '@atelier/protocol';
import { tenantPlugin } from '../tenancy/tenant-plugin.js';

export type ApiKeyKind = KeyKind;

/**
 * A tenant's API key. Only a SHA-256 of the key is kept. A slow, salted hash (bcrypt,
 * argon2) is for secrets people choose, whose few bits an attacker with the hashes can
 * guess through; a key is 256 random bits, which no hash speed brings within reach, so
 * a fast hash is as safe here and lets the key itself be the lookup (an indexed
 * equality on `hash`, no per-key salt to try).
 */
export interface ApiKey {
  _id: string;
  tenantId: string;
  kind: ApiKeyKind;
  mode: KeyMode;
  hash: string;
  /** Shown in listings so an operator can tell keys apart: `sk_live_…a1b2`. */
  hint: string;
  label: string;
  /**
   * What a secret key may do. Absent on keys stored before scopes existed: those had
   * every power, and keep it until rotated (see `effectiveScopes`).
   */
  scopes?: KeyScope[];
  /** Requests a minute this key may make; null: the plan's limit. */
  requestsPerMinute?: number | null;
  /** After this the key is refused. Rotation sets it to the end of the grace period. */
  expiresAt?: Date | null;
  revokedAt: Date | null;
  /** The key that replaced this one, once rotated (a key is rotated at most once). */
  rotatedTo?: string | null;
  /** The key this one replaced. */
  rotatedFrom?: string | null;
  /** `checksummed` for keys issued with a checksum; absent on older (legacy) keys. */
  format?: 'checksummed';
  /** Written at most about once a minute per key (see KeyService). */
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
    scopes: { type: [{ type: String, enum: KEY_SCOPES }], default: undefined },
    requestsPerMinute: { type: Number, default: null },
    expiresAt: { type: Date, default: null },
    revokedAt: { type: Date, default: null },
    rotatedTo: { type: String, default: null },
    rotatedFrom: { type: String, default: null },
    format: { type: String, enum: ['checksummed'] },
    lastUsedAt: { type: Date, default: null },
  },
  { timestamps: { createdAt: true, updatedAt: false }, collection: 'api_keys' },
);
apiKeySchema.plugin(tenantPlugin);
apiKeySchema.index({ tenantId: 1, createdAt: -1, _id: -1 });

/** The scopes a key holds: a legacy secret key (no `scopes` field) holds all of them. */
export function effectiveScopes(key: Pick<ApiKey, 'kind' | 'scopes'>): KeyScope[] {
  if (key.kind !== 'secret') return [];
  return key.scopes ?? [...KEY_SCOPES];
}

export function apiKeyModel(connection: Connection): Model<ApiKey> {
  return connection.model<ApiKey>('ApiKey', apiKeySchema);
}
