import { statusOf } from '../billing/billing-service.js';
import type { WebhookHandler } from './handler.js';

/**
 * `app_subscriptions/update`: a subscription the app created was approved, declined,
 * cancelled, frozen or expired. Its status is applied (an update older than the one
 * applied is skipped), and the tenant's plan follows the shop's active subscription.
 */
export const appSubscriptionsUpdate: WebhookHandler = async (delivery, deps) => {
  const subscription = delivery.payload.app_subscription as Record<string, unknown> | undefined;
  const id = subscription?.admin_graphql_api_id;
  const status = statusOf(subscription?.status);
  if (typeof id !== 'string' || !status) return 'not an app subscription update';
  const updatedAt = typeof subscription?.updated_at === 'string' ? new Date(subscription.updated_at) : null;
  const at = updatedAt && !Number.isNaN(updatedAt.getTime()) ? updatedAt : (delivery.triggeredAt ?? deps.now());
  return deps.billing.apply(delivery.shop, id, status, at);
};
