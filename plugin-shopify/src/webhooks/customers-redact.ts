import { customerShopperId } from '../routes/proxy-routes.js';
import type { WebhookHandler } from './handler.js';
import { customerId } from './customer-id.js';

/** `customers/redact` (mandatory compliance topic): the customer's generations and their images, deleted. */
export const customersRedact: WebhookHandler = async (delivery, deps) => {
  const shop = await deps.models.Shop.findById(delivery.shop).lean();
  const customer = customerId(delivery.payload);
  if (!shop || shop.status === 'redacted' || customer === undefined) return 'nothing held';
  const deleted = await deps.shoppers.forget(shop.tenantId, customerShopperId(customer), {
    topic: 'customers/redact',
    id: delivery.eventId,
  });
  // The customer's pending data requests go too: there is nothing left to export.
  await deps.models.DataExport.deleteMany({ shop: delivery.shop, customerId: customer });
  return `generations deleted: ${deleted}`;
};
