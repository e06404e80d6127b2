import type { Session, Shopify } from '@shopify/shopify-api';
import { BILLING_CURRENCY, money, usageTerms, type BillingPlan } from './billing-plans.js';

/** The Admin GraphQL operations of billing, each with the shop's offline session. */

export interface UserError {
  field: string[] | null;
  message: string;
}

/** An app subscription as Shopify reports it. */
export interface ShopifySubscription {
  id: string;
  name: string;
  status: string;
  test: boolean;
  createdAt: string;
  /** The end of the current billing period (null until the subscription is active). */
  currentPeriodEnd: string | null;
  lineItems: { id: string; plan: { pricingDetails: { __typename: string } } }[];
}

const SUBSCRIBE = `#graphql
  mutation AtelierSubscribe(
    $name: String!
    $lineItems: [AppSubscriptionLineItemInput!]!
    $returnUrl: URL!
    $test: Boolean
    $replacementBehavior: AppSubscriptionReplacementBehavior
  ) {
    appSubscriptionCreate(
      name: $name
      lineItems: $lineItems
      returnUrl: $returnUrl
      test: $test
      replacementBehavior: $replacementBehavior
    ) {
      appSubscription { id name status test createdAt currentPeriodEnd lineItems { id plan { pricingDetails { __typename } } } }
      confirmationUrl
      userErrors { field message }
    }
  }`;

const CANCEL = `#graphql
  mutation AtelierCancelSubscription($id: ID!) {
    appSubscriptionCancel(id: $id) {
      appSubscription { id status }
      userErrors { field message }
    }
  }`;

const USAGE_RECORD = `#graphql
  mutation AtelierUsageRecord(
    $subscriptionLineItemId: ID!
    $price: MoneyInput!
    $description: String!
    $idempotencyKey: String
  ) {
    appUsageRecordCreate(
      subscriptionLineItemId: $subscriptionLineItemId
      price: $price
      description: $description
      idempotencyKey: $idempotencyKey
    ) {
      appUsageRecord { id }
      userErrors { field message }
    }
  }`;

const ACTIVE_SUBSCRIPTIONS = `#graphql
  query AtelierActiveSubscriptions {
    currentAppInstallation {
      activeSubscriptions { id name status test createdAt currentPeriodEnd lineItems { id plan { pricingDetails { __typename } } } }
    }
  }`;

const DEVELOPMENT_STORE = `#graphql
  query AtelierShopPlan {
    shop { plan { partnerDevelopment } }
  }`;

export class BillingApi {
  constructor(private readonly shopify: Shopify) {}

  async createSubscription(
    session: Session,
    input: { plan: BillingPlan; returnUrl: string; test: boolean; replacementBehavior: string },
  ): Promise<{ subscription: ShopifySubscription | null; confirmationUrl: string | null; userErrors: UserError[] }> {
    const { plan } = input;
    const data = await this.request<{
      appSubscriptionCreate: {
        appSubscription: ShopifySubscription | null;
        confirmationUrl: string | null;
        userErrors: UserError[];
      };
    }>(session, SUBSCRIBE, {
      name: plan.name,
      returnUrl: input.returnUrl,
      test: input.test,
      replacementBehavior: input.replacementBehavior,
      lineItems: [
        { plan: { appRecurringPricingDetails: { price: money(plan.priceCents), interval: 'EVERY_30_DAYS' } } },
        { plan: { appUsagePricingDetails: { terms: usageTerms(plan), cappedAmount: money(plan.cappedCents) } } },
      ],
    });
    const result = data.appSubscriptionCreate;
    return { subscription: result.appSubscription, confirmationUrl: result.confirmationUrl, userErrors: result.userErrors };
  }

  async cancelSubscription(session: Session, id: string): Promise<{ status: string | null; userErrors: UserError[] }> {
    const data = await this.request<{
      appSubscriptionCancel: { appSubscription: { id: string; status: string } | null; userErrors: UserError[] };
    }>(session, CANCEL, { id });
    return {
      status: data.appSubscriptionCancel.appSubscription?.status ?? null,
      userErrors: data.appSubscriptionCancel.userErrors,
    };
  }

  async createUsageRecord(
    session: Session,
    input: { lineItemId: string; cents: number; description: string; idempotencyKey: string },
  ): Promise<{ id: string | null; userErrors: UserError[] }> {
    const data = await this.request<{
      appUsageRecordCreate: { appUsageRecord: { id: string } | null; userErrors: UserError[] };
    }>(session, USAGE_RECORD, {
      subscriptionLineItemId: input.lineItemId,
      price: { amount: (input.cents / 100).toFixed(2), currencyCode: BILLING_CURRENCY },
      description: input.description,
      idempotencyKey: input.idempotencyKey,
    });
    return { id: data.appUsageRecordCreate.appUsageRecord?.id ?? null, userErrors: data.appUsageRecordCreate.userErrors };
  }

  async activeSubscriptions(session: Session): Promise<ShopifySubscription[]> {
    const data = await this.request<{ currentAppInstallation: { activeSubscriptions: ShopifySubscription[] } }>(
      session,
      ACTIVE_SUBSCRIPTIONS,
    );
    return data.currentAppInstallation.activeSubscriptions;
  }

  /** Development stores (Partner dashboard) can only approve test charges. */
  async isDevelopmentStore(session: Session): Promise<boolean> {
    const data = await this.request<{ shop: { plan: { partnerDevelopment: boolean } } }>(session, DEVELOPMENT_STORE);
    return data.shop.plan.partnerDevelopment;
  }

  private async request<T>(session: Session, query: string, variables?: Record<string, unknown>): Promise<T> {
    const client = new this.shopify.clients.Graphql({ session });
    const response = await client.request<T>(query, { ...(variables ? { variables } : {}), retries: 2 });
    if (!response.data) throw new Error('the Admin API answered without data');
    return response.data;
  }
}

/** The usage line item of a subscription (the one usage records go on). */
export function usageLineItem(subscription: ShopifySubscription): string | undefined {
  return subscription.lineItems.find((item) => item.plan.pricingDetails.__typename === 'AppUsagePricing')?.id;
}
