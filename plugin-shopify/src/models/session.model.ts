import { Schema, type Connection, type Model } from 'mongoose';

/**
 * A `Session` of `@shopify/shopify-api` (offline: `offline_<shop>`; online:
 * `<shop>_<user>`), with its access token sealed (see token-cipher.ts): the database
 * never holds a usable token.
 */
export interface SessionRecord {
  _id: string;
  shop: string;
  state: string;
  isOnline: boolean;
  scope: string | null;
  expires: Date | null;
  sealedAccessToken: string | null;
  sealedRefreshToken: string | null;
  refreshTokenExpires: Date | null;
  /** The online session's user, as Shopify returned it (no secrets in it). */
  onlineAccessInfo: unknown;
  createdAt: Date;
  updatedAt: Date;
}

const sessionSchema = new Schema<SessionRecord>(
  {
    _id: { type: String, required: true },
    shop: { type: String, required: true },
    state: { type: String, default: '' },
    isOnline: { type: Boolean, required: true },
    scope: { type: String, default: null },
    expires: { type: Date, default: null },
    sealedAccessToken: { type: String, default: null },
    sealedRefreshToken: { type: String, default: null },
    refreshTokenExpires: { type: Date, default: null },
    onlineAccessInfo: { type: Schema.Types.Mixed, default: null },
  },
  { timestamps: true, collection: 'shopify_sessions' },
);
sessionSchema.index({ shop: 1 });

export function sessionModel(connection: Connection): Model<SessionRecord> {
  return connection.model<SessionRecord>('ShopifySession', sessionSchema);
}
