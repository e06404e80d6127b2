import type { BillingService } from '../billing/billing-service.js';
import type { ShopifyModels } from '../models/index.js';
import type { ShopifyPorts } from '../ports.js';
import type { MongoSessionStorage } from '../session-storage.js';

/** One delivered webhook, as the inbox hands it to its topic's handler. */
export interface WebhookDelivery {
  eventId: string;
  topic: string;
  shop: string;
  triggeredAt: Date | null;
  payload: Record<string, unknown>;
}

export interface WebhookHandlerDeps extends Omit<ShopifyPorts, 'billing'> {
  models: ShopifyModels;
  sessions: MongoSessionStorage;
  /** Subscriptions (`app_subscriptions/update`); the tenant's plan is changed through it. */
  billing: BillingService;
  now: () => Date;
}

/**
 * Handles one topic. Shopify delivers at least once and in no particular order, so a
 * handler is idempotent and judges an event by when it was triggered; it returns what
 * it did (for operators, without personal data).
 */
export type WebhookHandler = (delivery: WebhookDelivery, deps: WebhookHandlerDeps) => Promise<string>;

/** True when the event happened before the shop's latest install: it speaks of a past installation. */
export function beforeInstall(delivery: WebhookDelivery, installedAt: Date): boolean {
  return delivery.triggeredAt !== null && delivery.triggeredAt.getTime() < installedAt.getTime();
}
