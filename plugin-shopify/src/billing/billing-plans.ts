/**
 * What a shop pays for each Atelier plan (the platform's plans: `free`, `basic`, `pro`,
 * `enterprise`). A paid plan is one app subscription with two line items: the monthly
 * price, and usage — credits used beyond the plan's included monthly credits, at
 * `centsPerCredit` each, up to `cappedCents` per 30-day billing cycle. `free` is no
 * subscription at all. Amounts are in US cents (Shopify bills apps in USD).
 */
export interface BillingPlan {
  plan: PaidPlan;
  /** The subscription's name, as the merchant sees it on the approval page and the invoice. */
  name: string;
  priceCents: number;
  centsPerCredit: number;
  cappedCents: number;
}

export const PAID_PLANS = ['basic', 'pro', 'enterprise'] as const;
export type PaidPlan = (typeof PAID_PLANS)[number];
export const FREE_PLAN = 'free';
export const BILLING_CURRENCY = 'USD';

export const BILLING_PLANS: Record<PaidPlan, BillingPlan> = {
  basic: { plan: 'basic', name: 'Atelier Basic', priceCents: 1900, centsPerCredit: 5, cappedCents: 5000 },
  pro: { plan: 'pro', name: 'Atelier Pro', priceCents: 4900, centsPerCredit: 4, cappedCents: 20_000 },
  enterprise: { plan: 'enterprise', name: 'Atelier Enterprise', priceCents: 29_900, centsPerCredit: 3, cappedCents: 100_000 },
};

export function isPaidPlan(value: unknown): value is PaidPlan {
  return typeof value === 'string' && (PAID_PLANS as readonly string[]).includes(value);
}

/** Cents as the decimal amount Shopify's `MoneyInput` takes. */
export function money(cents: number): { amount: string; currencyCode: string } {
  return { amount: (cents / 100).toFixed(2), currencyCode: BILLING_CURRENCY };
}

/** The usage terms the merchant approves, shown on Shopify's approval page. */
export function usageTerms(plan: BillingPlan): string {
  const perCredit = (plan.centsPerCredit / 100).toFixed(2);
  return `Credits beyond the plan's monthly credits: $${perCredit} each, at most $${(plan.cappedCents / 100).toFixed(2)} per 30 days`;
}
