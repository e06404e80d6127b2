import { customerShopperId } from '../routes/proxy-routes.js';
import type { WebhookHandler } from './handler.js';
import { customerId } from './customer-id.js';

/**
 * `customers/data_request` (mandatory compliance topic): what the app holds of one
 * customer is their generations, found by the shopper id their proxy sessions carry.
 * The list is kept with the event for the merchant; handing it over in the admin is
 * later work.
 */
export const customersDataRequest: WebhookHandler = async (delivery, deps) => {
  const shop = await deps.models.Shop.findById(delivery.shop).lean();
  const customer = customerId(delivery.payload);
  if (!shop || shop.status === 'redacted' || customer === undefined) return 'nothing held';
  const generations = await deps.shoppers.list(shop.tenantId, customerShopperId(customer));
  return `generations: ${generations.length}${generations.length > 0 ? ` (${generations.join(', ')})` : ''}`;
};
