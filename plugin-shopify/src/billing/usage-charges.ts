import type { ShopifyModels } from '../models/index.js';
import type { SubscriptionRecord } from '../models/subscription.model.js';
import type { UsageChargeRecord } from '../models/usage-charge.model.js';

/** Shopify's app billing period (`EVERY_30_DAYS`). */
export const CYCLE_MS = 30 * 86_400_000;
/** Claims racing for one seq retry on the new head; this many losses in a row is a fault. */
const MAX_ATTEMPTS = 100;

export type ChargeClaim =
  | { kind: 'claimed'; charge: UsageChargeRecord }
  /** The job was charged already (a retry of the same job): its credits are in the ledger. */
  | { kind: 'charged-before'; charge: UsageChargeRecord }
  | { kind: 'over-cap'; usedCents: number };

/**
 * The end of the billing period `at` falls in. Periods are Shopify's: they end at the
 * `currentPeriodEnd` Shopify reported and every 30 days after it (Shopify renews the
 * subscription then; a later read moves `currentPeriodEnd` onto the same boundaries).
 * Until Shopify has reported one, periods count from the activation.
 */
export function periodEnd(subscription: SubscriptionRecord, at: Date): Date {
  const anchor =
    subscription.currentPeriodEnd?.getTime() ?? (subscription.activatedAt ?? subscription.createdAt).getTime() + CYCLE_MS;
  const passed = at.getTime() - anchor;
  return new Date(passed < 0 ? anchor : anchor + (Math.floor(passed / CYCLE_MS) + 1) * CYCLE_MS);
}

/** The billing cycle `at` falls in, named by its end (ms since the epoch). */
export function cycleOf(subscription: SubscriptionRecord, at: Date): number {
  return periodEnd(subscription, at).getTime();
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
