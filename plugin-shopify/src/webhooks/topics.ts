import { appSubscriptionsUpdate } from './app-subscriptions-update.js';
import { appUninstalled } from './app-uninstalled.js';
import { customersDataRequest } from './customers-data-request.js';
import { customersRedact } from './customers-redact.js';
import type { WebhookHandler } from './handler.js';
import { shopRedact } from './shop-redact.js';
import { shopUpdate } from './shop-update.js';

/** Every topic the app subscribes to (shopify.app.toml lists the same), with its handler. */
export const WEBHOOK_HANDLERS: Record<string, WebhookHandler> = {
  'app/uninstalled': appUninstalled,
  'shop/update': shopUpdate,
  'customers/data_request': customersDataRequest,
  'customers/redact': customersRedact,
  'shop/redact': shopRedact,
  'app_subscriptions/update': appSubscriptionsUpdate,
};

/**
 * The shop a payload says it is about. The HMAC covers the body, not the headers, so a
 * signed body is only believed for the shop it names itself. An `app_subscriptions/update`
 * body names the shop only by its GID: its handler acts only on a subscription the app
 * created for the header's shop, so for it the header's shop stands.
 */
export function payloadShop(topic: string, payload: Record<string, unknown>, headerShop: string): unknown {
  if (topic === 'app_subscriptions/update') return headerShop;
  return topic === 'app/uninstalled' || topic === 'shop/update' ? payload.myshopify_domain : payload.shop_domain;
}
