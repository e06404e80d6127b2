import mongoose from 'mongoose';
import type { Session, Shopify } from '@shopify/shopify-api';
import { createLogger } from '@atelier/runtime';
import type { ShopifyModels } from '../models/index.js';
import type { ShopRecord } from '../models/shop.model.js';
import type { SubscriptionRecord, SubscriptionStatus } from '../models/subscription.model.js';
import { SUBSCRIPTION_STATUSES } from '../models/subscription.model.js';
import type { CreditShortfall, ShortfallAnswer, TenantBilling } from '../ports.js';
import type { MongoSessionStorage } from '../session-storage.js';
import { usageLineItem, type BillingApi, type ShopifySubscription } from './billing-api.js';
import { BILLING_CURRENCY, BILLING_PLANS, FREE_PLAN, PAID_PLANS, type PaidPlan } from './billing-plans.js';
import { claimCharge, usedCents } from './usage-charges.js';
import type { UsageOutbox } from './usage-outbox.js';

const log = createLogger('shopify-billing');

/** What the embedded admin shows of billing (`GET /shopify/api/billing`). */
export interface BillingSummary {
  plan: string;
  /** The subscription's status (`ACTIVE`, `PENDING`, …), or `NONE` on the free plan. */
  status: string;
  /** Usage beyond the plan's credits allowed per 30 days, in `currencyCode`; null on the free plan. */
  cappedAmount: number | null;
  usedAmount: number;
  /** Not one more credit fits under the cap: jobs beyond the plan's credits are refused. */
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
        capReached: false,
        currencyCode: BILLING_CURRENCY,
      };
    }
    const used = await usedCents(this.deps.models, active, this.deps.now());
    return {
      plan: active.plan,
      status: active.status,
      cappedAmount: active.cappedCents / 100,
      usedAmount: used / 100,
      capReached: used + active.centsPerCredit > active.cappedCents,
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

  /** The shop's subscriptions as Shopify has them now (the merchant is back from approving one). */
  async sync(shop: string): Promise<void> {
    const subscriptions = await this.deps.api.activeSubscriptions(await this.session(shop));
    for (const subscription of subscriptions) {
      const status = statusOf(subscription.status);
      if (status) await this.apply(shop, subscription.id, status, null);
    }
  }

  /**
   * A status Shopify reported for one of the shop's subscriptions (`at`: when it
   * changed, to skip an older report arriving late; null: read back just now). One the
   * app did not create for this shop changes nothing.
   */
  async apply(shop: string, subscriptionId: string, status: SubscriptionStatus, at: Date | null): Promise<string> {
    const { models, billing } = this.deps;
    const record = await models.Subscription.findOne({ _id: subscriptionId, shop }).lean();
    if (!record) return 'not a subscription of this shop';
    if (at && record.statusAt && record.statusAt.getTime() > at.getTime()) return 'stale: a later status was applied';
    const activatedAt = status === 'ACTIVE' ? (record.activatedAt ?? at ?? this.deps.now()) : record.activatedAt;
    await models.Subscription.updateOne(
      { _id: subscriptionId },
      { $set: { status, activatedAt, ...(at ? { statusAt: at } : {}) } },
    );
    const active = await this.active(shop);
    if (active) {
      // Once per subscription: the plan's monthly credits come with the first payment.
      await billing.changePlan(record.tenantId, active.plan, {
        key: `shopify-subscription:${active._id}`,
        reason: `${active.name} subscription started`,
      });
    } else {
      await billing.changePlan(record.tenantId, FREE_PLAN);
    }
    log.info({ shop, subscription: subscriptionId, status, plan: active?.plan ?? FREE_PLAN }, 'subscription status applied');
    return `${status}; plan ${active?.plan ?? FREE_PLAN}`;
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
        details: { reason: 'plan_credits_used' },
      };
    }
    const credits = shortfall.required - Math.max(0, shortfall.available);
    const claim = await claimCharge(models, active, { jobId: shortfall.jobId, credits, at: now() });
    if (claim.kind === 'over-cap') {
      return {
        covered: false,
        detail: `This job would pass the shop's usage cap of $${(active.cappedCents / 100).toFixed(2)} for this billing cycle; the merchant can raise the plan in the Atelier app.`,
        details: { reason: 'usage_cap_reached', cappedAmount: active.cappedCents / 100, usedAmount: claim.usedCents / 100 },
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

/** Shopify's status (the API's `ACTIVE`, the webhook's `active` alike), or undefined. */
export function statusOf(value: unknown): SubscriptionStatus | undefined {
  const status = typeof value === 'string' ? value.toUpperCase() : '';
  return (SUBSCRIPTION_STATUSES as readonly string[]).includes(status) ? (status as SubscriptionStatus) : undefined;
}

export type { ShopifySubscription };
