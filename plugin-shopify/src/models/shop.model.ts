import { Schema, type Connection, type Model } from 'mongoose';

export const SHOP_STATUSES = ['installed', 'uninstalled', 'redacted'] as const;
export type ShopStatus = (typeof SHOP_STATUSES)[number];

/** What the storefront widget may do per day, as the merchant set it. */
export interface ShopQuotas {
  guestPerDay: number;
  customerPerDay: number;
}

export const DEFAULT_SHOP_QUOTAS: ShopQuotas = { guestPerDay: 3, customerPerDay: 10 };

/**
 * One shop = one tenant. Platform-owned (keyed by the shop, not by a tenant): the
 * `_id` is the shop's permanent domain, so one record per shop is the database's
 * guarantee, and `tenantId` is unique as well. A redacted shop keeps only this
 * tombstone (no name, no email) so that late webhooks find it ended.
 */
export interface ShopRecord {
  _id: string;
  tenantId: string;
  status: ShopStatus;
  /** Not secret (it is bound to the tenant's origins); the storefront widget needs it. */
  publishableKey: string | null;
  name: string | null;
  email: string | null;
  currencyCode: string | null;
  planName: string | null;
  primaryDomain: string | null;
  quotas: ShopQuotas;
  installedAt: Date;
  uninstalledAt: Date | null;
  redactedAt: Date | null;
  /** The storefront's metafields (key, server) are not known to be at Shopify yet: written again until they are. */
  metafieldsPending: boolean;
  /** When the details above were triggered at Shopify (install or `shop/update`): older updates are skipped. */
  detailsAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

const shopSchema = new Schema<ShopRecord>(
  {
    _id: { type: String, required: true },
    tenantId: { type: String, required: true },
    status: { type: String, enum: SHOP_STATUSES, required: true },
    publishableKey: { type: String, default: null },
    name: { type: String, default: null },
    email: { type: String, default: null },
    currencyCode: { type: String, default: null },
    planName: { type: String, default: null },
    primaryDomain: { type: String, default: null },
    quotas: {
      guestPerDay: { type: Number, default: DEFAULT_SHOP_QUOTAS.guestPerDay },
      customerPerDay: { type: Number, default: DEFAULT_SHOP_QUOTAS.customerPerDay },
    },
    installedAt: { type: Date, required: true },
    uninstalledAt: { type: Date, default: null },
    redactedAt: { type: Date, default: null },
    detailsAt: { type: Date, default: null },
    metafieldsPending: { type: Boolean, default: false },
  },
  { timestamps: true, collection: 'shopify_shops' },
);
shopSchema.index({ tenantId: 1 }, { unique: true });
shopSchema.index({ status: 1, metafieldsPending: 1 });

export function shopModel(connection: Connection): Model<ShopRecord> {
  return connection.model<ShopRecord>('ShopifyShop', shopSchema);
}
