import mongoose from 'mongoose';
import type { Session, Shopify } from '@shopify/shopify-api';
import type { RefusalReason } from '@atelier/protocol';
import { createLogger } from '@atelier/runtime';
import type { ShopifyModels } from '../models/index.js';
import type { ShopRecord } from '../models/shop.model.js';
import type { SubscriptionRecord, SubscriptionStatus } from '../models/subscription.model.js';
import { SUBSCRIPTION_STATUSES } from '../models/subscription.model.js';
import type { CreditPeriod, CreditShortfall, ShortfallAnswer, TenantBilling } from '../ports.js';
import type { MongoSessionStorage } from '../session-storage.js';
import { usageLineItem, type BillingApi, type ShopifySubscription } from './billing-api.js';
import { BILLING_CURRENCY, BILLING_PLANS, FREE_PLAN, PAID_PLANS, type PaidPlan } from './billing-plans.js';
import { claimCharge, cycleOf, periodEnd, usedCents } from './usage-charges.js';
import type { UsageOutbox } from './usage-outbox.js';

const log = createLogger('shopify-billing');

/** Statuses a subscription never leaves: a report of any other status about it is older news. */
const FINAL_STATUSES: readonly SubscriptionStatus[] = ['CANCELLED', 'DECLINED', 'EXPIRED'];

/** What the embedded admin shows of billing (`GET /shopify/api/billing`). */
export interface BillingSummary {
  plan: string;
  /** The subscription's status (`ACTIVE`, `PENDING`, …), or `NONE` on the free plan. */
  status: string;
  /** Usage beyond the plan's credits allowed per billing period, in `currencyCode`; null on the free plan. */
  cappedAmount: number | null;
  usedAmount: number;
  /** When Shopify's billing period ends (ISO 8601): the cap and the plan's credits start again then; null on the free plan. */
  periodEnd: string | null;
  /**
   * Jobs are being refused for the cap this billing period: one was, or not one more
   * credit fits. The admin tells the merchant to raise the plan.
   */
  capReached: boolean;
  currencyCode: string;
}

/** A refusal the merchant can act on, answered with its code and this message. */
export class BillingRefusal extends Error {
  constructor(
    message: string,
    readonly code: 'conflict' | 'unavailable' | 'not_found' = 'conflict',
  ) {
    super(message);
  }
}

export interface BillingServiceDeps {
  shopify: Shopify;
  models: ShopifyModels;
  sessions: MongoSessionStorage;
  billing: TenantBilling;
  api: BillingApi;
  outbox: UsageOutbox;
  /** Where Shopify sends the merchant after approving (`<app URL>/billing/return`). */
  returnUrl: (shop: string) => string;
  now: () => Date;
}

/**
 * A shop's plan as an app subscription: subscribing asks Shopify for one (the merchant
 * approves it at the confirmation URL), its status arrives by webhook or is read back,
 * and an active one decides the tenant's plan. Credits beyond the plan's are bought as
 * usage, within the subscription's cap, before the job that needs them is accepted.
 */
export class BillingService {
  constructor(private readonly deps: BillingServiceDeps) {}

  async summary(shop: ShopRecord): Promise<BillingSummary> {
    const active = await this.active(shop._id);
    if (!active) {
      const latest = await this.deps.models.Subscription.findOne({ shop: shop._id }).sort({ createdAt: -1 }).lean();
      return {
        plan: FREE_PLAN,
        status: latest?.status === 'PENDING' ? 'PENDING' : 'NONE',
        cappedAmount: null,
        usedAmount: 0,
        periodEnd: null,
        capReached: false,
        currencyCode: BILLING_CURRENCY,
      };
    }
    const now = this.deps.now();
    const used = await usedCents(this.deps.models, active, now);
    return {
      plan: active.plan,
      status: active.status,
      cappedAmount: active.cappedCents / 100,
      usedAmount: used / 100,
      periodEnd: periodEnd(active, now).toISOString(),
      capReached: used + active.centsPerCredit > active.cappedCents || active.capRefusedCycle === cycleOf(active, now),
      currencyCode: active.currencyCode,
    };
  }

  /**
   * Asks Shopify for a subscription to `plan`; the merchant approves it at the returned
   * URL. A change of plan replaces the active subscription: an upgrade at once, a
   * downgrade at the end of the cycle already paid for. Development stores get test charges.
   */
  async subscribe(shop: ShopRecord, planName: PaidPlan): Promise<{ confirmationUrl: string }> {
    const session = await this.session(shop._id);
    const plan = BILLING_PLANS[planName];
    const active = await this.active(shop._id);
    if (active?.plan === planName) throw new BillingRefusal(`The shop is on the ${planName} plan already.`);
    const upgrade = !active || PAID_PLANS.indexOf(planName) > PAID_PLANS.indexOf(active.plan as PaidPlan);
    const replacementBehavior = upgrade ? 'APPLY_IMMEDIATELY' : 'APPLY_ON_NEXT_BILLING_CYCLE';
    const test = await this.deps.api.isDevelopmentStore(session);
    const result = await this.deps.api.createSubscription(session, {
      plan,
      returnUrl: this.deps.returnUrl(shop._id),
      test,
      replacementBehavior,
    });
    const lineItem = result.subscription ? usageLineItem(result.subscription) : undefined;
    if (!result.subscription || !result.confirmationUrl || !lineItem) {
      log.warn({ shop: shop._id, errors: result.userErrors }, 'appSubscriptionCreate refused');
      throw new BillingRefusal(
        `Shopify refused the subscription: ${result.userErrors.map((e) => e.message).join('; ')}`,
        'unavailable',
      );
    }
    await this.deps.models.Subscription.create({
      _id: result.subscription.id,
      shop: shop._id,
      tenantId: shop.tenantId,
      plan: planName,
      name: plan.name,
      status: statusOf(result.subscription.status) ?? 'PENDING',
      test,
      replacementBehavior,
      usageLineItemId: lineItem,
      priceCents: plan.priceCents,
      centsPerCredit: plan.centsPerCredit,
      cappedCents: plan.cappedCents,
      currencyCode: BILLING_CURRENCY,
    });
    log.info({ shop: shop._id, plan: planName, test, replacementBehavior }, 'subscription requested');
    return { confirmationUrl: result.confirmationUrl };
  }

  /** Cancels the active subscription: the shop is back on the free plan. */
  async cancel(shop: ShopRecord): Promise<BillingSummary> {
    const active = await this.active(shop._id);
    if (!active) throw new BillingRefusal('The shop has no paid plan to cancel.');
    const result = await this.deps.api.cancelSubscription(await this.session(shop._id), active._id);
    if (result.status !== 'CANCELLED') {
      throw new BillingRefusal(
        `Shopify did not cancel the subscription: ${result.userErrors.map((e) => e.message).join('; ')}`,
        'unavailable',
      );
    }
    await this.apply(shop._id, active._id, 'CANCELLED', this.deps.now());
    return this.summary((await this.deps.models.Shop.findById(shop._id).lean()) ?? shop);
  }

  /**
   * The shop's subscriptions as Shopify has them now (the merchant is back from approving
   * one, or a webhook said one became active): each one's billing period, and its status
   * as of the moment the read began, so a webhook about a later change that was applied
   * while the read was under way is not undone by it.
   */
  async sync(shop: string): Promise<void> {
    const session = await this.session(shop);
    const readAt = this.deps.now();
    const subscriptions = await this.deps.api.activeSubscriptions(session);
    for (const subscription of subscriptions) {
      const status = statusOf(subscription.status);
      const end = subscription.currentPeriodEnd ? new Date(subscription.currentPeriodEnd) : null;
      // The period is a fact of the read whatever the status's order: it only moves forward.
      if (end && !Number.isNaN(end.getTime())) {
        await this.deps.models.Subscription.updateOne({ _id: subscription.id, shop }, { $set: { currentPeriodEnd: end } });
      }
      if (status) await this.apply(shop, subscription.id, status, readAt, { read: true });
    }
    const active = await this.active(shop);
    if (active) await this.grantPeriod(active, this.deps.now());
  }

  /**
   * A status Shopify reported for one of the shop's subscriptions, as of `at` (a
   * webhook's `updated_at`, or when a read-back began). Reports arrive in any order, so
   * only a newer one is applied: one older than the status applied last is skipped, and
   * an ended subscription stays ended. One the app did not create for this shop changes nothing.
   * A read that finds the status already applied writes nothing: anyone can cause a read
   * (the billing return route names a shop), so it must change nothing Shopify did not
   * change; a webhook's own time still orders what it reports.
   */
  async apply(
    shop: string,
    subscriptionId: string,
    status: SubscriptionStatus,
    at: Date,
    { read = false } = {},
  ): Promise<string> {
    const { models, billing } = this.deps;
    const record = await models.Subscription.findOne({ _id: subscriptionId, shop }).lean();
    if (!record) return 'not a subscription of this shop';
    if (read && record.status === status) return `unchanged: ${status}`;
    if (record.status !== status && FINAL_STATUSES.includes(record.status)) return `stale: the subscription is ${record.status}`;
    if (record.statusAt && record.statusAt.getTime() > at.getTime()) return 'stale: a later status was applied';
    const activatedAt = status === 'ACTIVE' ? (record.activatedAt ?? at) : record.activatedAt;
    // FerretDB runs this filter as read-then-write, so it narrows the window rather than closing it.
    await models.Subscription.updateOne(
      {
        _id: subscriptionId,
        status: mongoose.trusted({ $nin: FINAL_STATUSES.filter((final) => final !== status) }),
        statusAt: mongoose.trusted({ $not: { $gt: at } }),
      },
      { $set: { status, activatedAt, statusAt: at } },
    );
    const active = await this.active(shop);
    await billing.changePlan(record.tenantId, active?.plan ?? FREE_PLAN);
    // Shopify's billing period is known from a read only (the webhook does not carry it).
    if (status === 'ACTIVE' && active?._id === subscriptionId && !active.currentPeriodEnd) await this.sync(shop);
    else if (active) await this.grantPeriod(active, this.deps.now());
    log.info({ shop, subscription: subscriptionId, status, plan: active?.plan ?? FREE_PLAN }, 'subscription status applied');
    return `${status}; plan ${active?.plan ?? FREE_PLAN}`;
  }

  /**
   * The server's hourly grant asks which period a tenant's included credits belong to:
   * a shop's with a paid plan gets them per Shopify billing period, under the same key
   * as the grant made here at activation (null while the period is not known yet).
   */
  async periodOf(tenantId: string, at: Date): Promise<CreditPeriod | null | undefined> {
    const shop = await this.deps.models.Shop.findOne({ tenantId }).lean();
    if (!shop) return undefined;
    const active = await this.active(shop._id);
    if (!active) return undefined;
    return active.currentPeriodEnd ? creditPeriod(active, at) : null;
  }

  /** The plan's included credits for the billing period `at` falls in, once; true when granted now. */
  private async grantPeriod(subscription: SubscriptionRecord, at: Date): Promise<boolean> {
    if (!subscription.currentPeriodEnd) return false;
    const period = creditPeriod(subscription, at);
    return this.deps.billing.grantIncluded(subscription.tenantId, subscription.plan, period);
  }

  /**
   * The app was uninstalled: Shopify cancels its subscriptions and sends no more updates
   * about them, so they end here too, and the tenant (suspended) is on `free` should the
   * shop install again.
   */
  async uninstalled(shop: string, tenantId: string): Promise<number> {
    const { modifiedCount } = await this.deps.models.Subscription.updateMany(
      { shop, status: mongoose.trusted({ $in: ['ACTIVE', 'ACCEPTED', 'PENDING'] }) },
      { $set: { status: 'CANCELLED' } },
    );
    await this.deps.billing.changePlan(tenantId, FREE_PLAN);
    return modifiedCount;
  }

  /**
   * Asked by the server before a job is refused for credits: for a shop with a paid
   * plan the missing credits are bought as usage, unless that would pass the cap.
   * Tenants that are not shops are not answered (the refusal stands as it was).
   */
  async cover(shortfall: CreditShortfall): Promise<ShortfallAnswer> {
    const { models, now } = this.deps;
    const shop = await models.Shop.findOne({ tenantId: shortfall.tenantId }).lean();
    if (!shop || shop.status !== 'installed') return { covered: false };
    const active = await this.active(shop._id);
    if (!active) {
      return {
        covered: false,
        detail: "The shop's free credits are used up; the merchant can choose a paid plan in the Atelier app.",
        details: { reason: 'plan_credits_used' satisfies RefusalReason },
      };
    }
    // A new billing period began and nothing granted its credits yet: they may cover the job.
    if (await this.grantPeriod(active, now())) return { covered: true };
    const credits = shortfall.required - Math.max(0, shortfall.available);
    const claim = await claimCharge(models, active, { jobId: shortfall.jobId, credits, at: now() });
    if (claim.kind === 'over-cap') {
      const cycle = cycleOf(active, now());
      if (active.capRefusedCycle !== cycle) {
        await models.Subscription.updateOne({ _id: active._id }, { $set: { capRefusedCycle: cycle } });
      }
      return {
        covered: false,
        detail: `This job would pass the shop's usage cap of $${(active.cappedCents / 100).toFixed(2)} for this billing cycle; the merchant can raise the plan in the Atelier app.`,
        details: {
          reason: 'usage_cap_reached' satisfies RefusalReason,
          cappedAmount: active.cappedCents / 100,
          usedAmount: claim.usedCents / 100,
        },
      };
    }
    await this.deps.outbox.grant(claim.charge);
    void this.deps.outbox.kick();
    return { covered: true };
  }

  /** The shop's newest active subscription. */
  private async active(shop: string): Promise<SubscriptionRecord | null> {
    return this.deps.models.Subscription.findOne({ shop, status: 'ACTIVE' }).sort({ activatedAt: -1, createdAt: -1 }).lean();
  }

  private async session(shop: string): Promise<Session> {
    const session = await this.deps.sessions.loadSession(this.deps.shopify.session.getOfflineId(shop));
    if (!session?.accessToken) throw new BillingRefusal('The app is not installed on this shop.', 'not_found');
    return session;
  }
}

/**
 * The included-credits period of a subscription at `at`: keyed by the subscription and
 * the period's end, the same key whichever path grants it.
 */
function creditPeriod(subscription: SubscriptionRecord, at: Date): CreditPeriod {
  const end = periodEnd(subscription, at).toISOString();
  return {
    key: `shopify-period:${subscription._id}:${end}`,
    label: `the Shopify billing period ending ${end}`,
    plan: subscription.plan,
  };
}

/** Shopify's status (the API's `ACTIVE`, the webhook's `active` alike), or undefined. */
export function statusOf(value: unknown): SubscriptionStatus | undefined {
  const status = typeof value === 'string' ? value.toUpperCase() : '';
  return (SUBSCRIPTION_STATUSES as readonly string[]).includes(status) ? (status as SubscriptionStatus) : undefined;
}

export type { ShopifySubscription };
