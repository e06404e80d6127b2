import { Schema, type Connection, type Model } from 'mongoose';

/** An authorization-code grant's `state` nonce, issued for one shop, for ten minutes. */
export interface OAuthStateRecord {
  _id: string;
  shop: string;
  expiresAt: Date;
  createdAt: Date;
}

/**
 * A nonce spent: inserted under the unique `_id` when a callback uses it. The insert is
 * the one atomic step the database offers (conditional deletes and updates are
 * read-then-write on FerretDB), so two callbacks racing with one nonce cannot both win.
 */
export interface OAuthStateUseRecord {
  _id: string;
  usedAt: Date;
}

const stateSchema = new Schema<OAuthStateRecord>(
  {
    _id: { type: String, required: true },
    shop: { type: String, required: true },
    expiresAt: { type: Date, required: true },
  },
  { timestamps: { createdAt: true, updatedAt: false }, collection: 'shopify_oauth_states' },
);
// No TTL index (FerretDB v1 has none): each new grant clears what has expired (oauth-routes.ts).
stateSchema.index({ expiresAt: 1 });

const useSchema = new Schema<OAuthStateUseRecord>(
  { _id: { type: String, required: true }, usedAt: { type: Date, required: true } },
  { collection: 'shopify_oauth_state_uses' },
);
useSchema.index({ usedAt: 1 });

export function oauthStateModel(connection: Connection): Model<OAuthStateRecord> {
  return connection.model<OAuthStateRecord>('ShopifyOAuthState', stateSchema);
}

export function oauthStateUseModel(connection: Connection): Model<OAuthStateUseRecord> {
  return connection.model<OAuthStateUseRecord>('ShopifyOAuthStateUse', useSchema);
}
