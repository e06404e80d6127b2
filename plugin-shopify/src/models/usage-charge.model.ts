import { Schema, type Connection, type Model } from 'mongoose';

export const USAGE_CHARGE_STATUSES = ['pending', 'sent', 'failed'] as const;
export type UsageChargeStatus = (typeof USAGE_CHARGE_STATUSES)[number];

/**
 * Credits a shop bought beyond its plan for one job, and the usage record that bills
 * them: the outbox of `appUsageRecordCreate`. Charges of one subscription's billing cycle
 * form a sequence (`_id: <subscription>:<cycle>:<seq>`, each with the cycle's running
 * total), so that concurrent claims are decided by the unique `_id` and the total never
 * passes the cap; `jobId` is unique, so one job is charged once. `entryId` is the ledger
 * entry that holds the credits and the usage record's idempotency key.
 */
export interface UsageChargeRecord {
  _id: string;
  subscriptionId: string;
  /** The billing period it falls in, by its end (ms since the epoch; see usage-charges.ts). */
  cycle: number;
  seq: number;
  shop: string;
  tenantId: string;
  jobId: string;
  credits: number;
  cents: number;
  /** The cycle's charges up to and including this one. */
  totalCents: number;
  entryId: string | null;
  status: UsageChargeStatus;
  attempts: number;
  usageRecordId: string | null;
  /** Why the last attempt failed (Shopify's user error or the transport's), for operators. */
  error: string | null;
  createdAt: Date;
  sentAt: Date | null;
}

const usageChargeSchema = new Schema<UsageChargeRecord>(
  {
    _id: { type: String, required: true },
    subscriptionId: { type: String, required: true },
    cycle: { type: Number, required: true },
    seq: { type: Number, required: true },
    shop: { type: String, required: true },
    tenantId: { type: String, required: true },
    jobId: { type: String, required: true },
    credits: { type: Number, required: true },
    cents: { type: Number, required: true },
    totalCents: { type: Number, required: true },
    entryId: { type: String, default: null },
    status: { type: String, enum: USAGE_CHARGE_STATUSES, default: 'pending' },
    attempts: { type: Number, default: 0 },
    usageRecordId: { type: String, default: null },
    error: { type: String, default: null },
    sentAt: { type: Date, default: null },
  },
  { timestamps: { createdAt: true, updatedAt: false }, collection: 'shopify_usage_charges' },
);
usageChargeSchema.index({ jobId: 1 }, { unique: true });
usageChargeSchema.index({ subscriptionId: 1, cycle: 1, seq: -1 });
usageChargeSchema.index({ status: 1, createdAt: 1 });

/**
 * A claim on one attempt at sending a charge, in one minute: inserted under a unique
 * `_id` (`<charge>:<attempt>:<minute>`) by the process that sends it, so two processes
 * draining the outbox at once do not both call Shopify (and if a crash leaves a claim,
 * the next minute's is free). The usage record's idempotency key covers what is left.
 */
export interface UsageSendClaimRecord {
  _id: string;
  at: Date;
}

const claimSchema = new Schema<UsageSendClaimRecord>(
  { _id: { type: String, required: true }, at: { type: Date, required: true } },
  { collection: 'shopify_usage_send_claims' },
);
claimSchema.index({ at: 1 });

export function usageChargeModel(connection: Connection): Model<UsageChargeRecord> {
  return connection.model<UsageChargeRecord>('ShopifyUsageCharge', usageChargeSchema);
}

export function usageSendClaimModel(connection: Connection): Model<UsageSendClaimRecord> {
  return connection.model<UsageSendClaimRecord>('ShopifyUsageSendClaim', claimSchema);
}
