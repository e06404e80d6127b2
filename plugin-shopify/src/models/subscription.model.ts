import { Schema, type Connection, type Model } from 'mongoose';

/** Shopify's `AppSubscriptionStatus`. */
export const SUBSCRIPTION_STATUSES = ['PENDING', 'ACTIVE', 'DECLINED', 'CANCELLED', 'EXPIRED', 'FROZEN', 'ACCEPTED'] as const;
export type SubscriptionStatus = (typeof SUBSCRIPTION_STATUSES)[number];

/**
 * An app subscription the app asked a shop to approve (`appSubscriptionCreate`), keyed
 * by its GID. Its status follows Shopify's (the `app_subscriptions/update` webhook, and
 * the read-back when the merchant returns from approving). The shop's plan is its
 * newest `ACTIVE` subscription's; with none, `free`.
 */
export interface SubscriptionRecord {
  _id: string;
  shop: string;
  tenantId: string;
  /** The Atelier plan it pays for. */
  plan: string;
  name: string;
  status: SubscriptionStatus;
  /** A test charge (development stores): approved like any other, never billed. */
  test: boolean;
  replacementBehavior: string;
  /** The usage line item that usage records are created on. */
  usageLineItemId: string;
  priceCents: number;
  centsPerCredit: number;
  cappedCents: number;
  currencyCode: string;
  activatedAt: Date | null;
  /**
   * The end of the billing period Shopify last reported (`currentPeriodEnd`): periods are
   * Shopify's, 30 days each, and the cap and the included credits start again at each end.
   */
  currentPeriodEnd: Date | null;
  /** The billing cycle (usage-charges.ts `cycleOf`) in which a job was last refused for the cap; the admin warns for it. */
  capRefusedCycle: number | null;
  /**
   * When the status applied last was true: Shopify's `updated_at` for a webhook, the
   * moment the read began for a read-back. A status known as of an earlier moment is skipped.
   */
  statusAt: Date | null;
  createdAt: Date;
}

const subscriptionSchema = new Schema<SubscriptionRecord>(
  {
    _id: { type: String, required: true },
    shop: { type: String, required: true },
    tenantId: { type: String, required: true },
    plan: { type: String, required: true },
    name: { type: String, required: true },
    status: { type: String, enum: SUBSCRIPTION_STATUSES, required: true },
    test: { type: Boolean, required: true },
    replacementBehavior: { type: String, required: true },
    usageLineItemId: { type: String, required: true },
    priceCents: { type: Number, required: true },
    centsPerCredit: { type: Number, required: true },
    cappedCents: { type: Number, required: true },
    currencyCode: { type: String, required: true },
    activatedAt: { type: Date, default: null },
    currentPeriodEnd: { type: Date, default: null },
    capRefusedCycle: { type: Number, default: null },
    statusAt: { type: Date, default: null },
  },
  { timestamps: { createdAt: true, updatedAt: false }, collection: 'shopify_subscriptions' },
);
subscriptionSchema.index({ shop: 1, status: 1 });

export function subscriptionModel(connection: Connection): Model<SubscriptionRecord> {
  return connection.model<SubscriptionRecord>('ShopifySubscription', subscriptionSchema);
}
