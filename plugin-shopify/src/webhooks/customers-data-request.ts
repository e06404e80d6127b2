import { customerShopperId } from '../routes/proxy-routes.js';
import type { WebhookHandler } from './handler.js';
import { customerId } from './customer-id.js';

/**
 * `customers/data_request` (mandatory compliance topic): what the app holds of one
 * customer is their generations, found by the shopper id their proxy sessions carry.
 * The request is recorded as an export the merchant downloads from the embedded admin
 * (`GET /shopify/api/data-requests/:id`, built then with fresh image links) and hands
 * to the customer. One export per event: a redelivery does not add another.
 */
export const customersDataRequest: WebhookHandler = async (delivery, deps) => {
  const shop = await deps.models.Shop.findById(delivery.shop).lean();
  const customer = customerId(delivery.payload);
  if (!shop || shop.status === 'redacted' || customer === undefined) return 'nothing held';
  const generations = await deps.shoppers.list(shop.tenantId, customerShopperId(customer));
  const request = (delivery.payload.data_request as { id?: unknown } | undefined)?.id;
  try {
    await deps.models.DataExport.create({
      _id: `dxp_${delivery.eventId.replace(/[^A-Za-z0-9-]/g, '')}`,
      shop: delivery.shop,
      customerId: customer,
      eventId: delivery.eventId,
      requestId: typeof request === 'number' || typeof request === 'string' ? String(request) : null,
      requestedAt: delivery.triggeredAt ?? deps.now(),
      generations: generations.length,
    });
  } catch (error) {
    if ((error as { code?: number }).code !== 11000) throw error;
  }
  return `export ready for the merchant: ${generations.length} generation(s)`;
};
