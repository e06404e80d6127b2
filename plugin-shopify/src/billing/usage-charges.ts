import type { ShopifyModels } from '../models/index.js';
import type { SubscriptionRecord } from '../models/subscription.model.js';
import type { UsageChargeRecord } from '../models/usage-charge.model.js';

/** Shopify's app billing cycle: 30 days from the subscription's activation. */
export const CYCLE_MS = 30 * 86_400_000;
/** Claims racing for one seq retry on the new head; this many losses in a row is a fault. */
const MAX_ATTEMPTS = 100;

export type ChargeClaim =
  | { kind: 'claimed'; charge: UsageChargeRecord }
  /** The job was charged already (a retry of the same job): its credits are in the ledger. */
  | { kind: 'charged-before'; charge: UsageChargeRecord }
  | { kind: 'over-cap'; usedCents: number };

/** The billing cycle `at` falls in, counted from the subscription's activation. */
export function cycleOf(subscription: SubscriptionRecord, at: Date): number {
  const start = (subscription.activatedAt ?? subscription.createdAt).getTime();
  return Math.max(0, Math.floor((at.getTime() - start) / CYCLE_MS));
}

/** What the shop's usage charges add up to in the cycle `at` falls in. */
export async function usedCents(models: ShopifyModels, subscription: SubscriptionRecord, at: Date): Promise<number> {
  const head = await models.UsageCharge.findOne({ subscriptionId: subscription._id, cycle: cycleOf(subscription, at) })
    .sort({ seq: -1 })
    .lean();
  return head?.totalCents ?? 0;
}

/**
 * Claims a usage charge for a job, within the subscription's cap. The cycle's charges
 * are numbered; a claim inserts the next number with the running total, so when two
 * claims race for one number the unique `_id` lets one in and the other re-reads the
 * total and checks the cap again (conditional updates are not atomic on FerretDB; a
 * unique insert is). A second claim for the same job meets the unique `jobId`.
 */
export async function claimCharge(
  models: ShopifyModels,
  subscription: SubscriptionRecord,
  input: { jobId: string; credits: number; at: Date },
): Promise<ChargeClaim> {
  const { UsageCharge } = models;
  const cycle = cycleOf(subscription, input.at);
  const cents = input.credits * subscription.centsPerCredit;
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt += 1) {
    const earlier = await UsageCharge.findOne({ jobId: input.jobId }).lean();
    if (earlier) return { kind: 'charged-before', charge: earlier };
    const head = await UsageCharge.findOne({ subscriptionId: subscription._id, cycle }).sort({ seq: -1 }).lean();
    const used = head?.totalCents ?? 0;
    if (used + cents > subscription.cappedCents) return { kind: 'over-cap', usedCents: used };
    const seq = (head?.seq ?? 0) + 1;
    try {
      const created = await UsageCharge.create({
        _id: `${subscription._id}:${cycle}:${seq}`,
        subscriptionId: subscription._id,
        cycle,
        seq,
        shop: subscription.shop,
        tenantId: subscription.tenantId,
        jobId: input.jobId,
        credits: input.credits,
        cents,
        totalCents: used + cents,
      });
      return { kind: 'claimed', charge: created.toObject() };
    } catch (error) {
      if ((error as { code?: number }).code !== 11000) throw error;
    }
  }
  throw new Error(`usage charges of ${subscription._id} are contended past ${MAX_ATTEMPTS} attempts`);
}
