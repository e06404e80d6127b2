import mongoose, { type Connection } from 'mongoose';
import { createShopifyModels, type ShopifyModels } from './models/index.js';

/**
 * Erases what the app keeps of a shop's tenant: its results, subscriptions, usage charges
 * (and their send claims), the shop's sessions (sealed tokens) and data exports, and the
 * payloads of its webhook events (the ids stay for deduplication). The shop record stays
 * as a tombstone (domain, tenant id, when; no name, no email, no key), as after
 * `shop/redact`: late webhooks find the shop ended, and installing it again makes a new
 * tenant. Idempotent; counts what it deleted, by collection.
 *
 * Results, subscriptions and usage charges are found by their `tenantId`; what is keyed
 * by the shop only if the shop is still this tenant's (a shop redacted and installed
 * again belongs to a new tenant, whose data stays).
 */
export async function eraseShopTenant(models: ShopifyModels, tenantId: string, now: Date): Promise<Record<string, number>> {
  const documents: Record<string, number> = {};
  const count = (model: { collection: { collectionName: string } }, deleted: number) => {
    const name = model.collection.collectionName;
    documents[name] = (documents[name] ?? 0) + deleted;
  };
  const shop = await models.Shop.findOne({ tenantId }).lean();
  if (shop) {
    count(models.Session, (await models.Session.deleteMany({ shop: shop._id })).deletedCount);
    count(models.DataExport, (await models.DataExport.deleteMany({ shop: shop._id })).deletedCount);
    // Payloads of the shop's events may name customers.
    await models.WebhookEvent.updateMany({ shop: shop._id }, { $set: { payload: null } });
  }
  // Billing: Shopify keeps the shop's invoices; ours (subscriptions, usage charges and the
  // charges' send claims, whose ids start with the subscription's) name the tenant and go.
  const subscriptions = await models.Subscription.find({ tenantId }).select({ _id: 1 }).lean();
  for (const { _id } of subscriptions) {
    const claims = await models.UsageSendClaim.deleteMany({ _id: mongoose.trusted({ $regex: `^${escapeRegExp(_id)}:` }) });
    count(models.UsageSendClaim, claims.deletedCount);
  }
  count(models.UsageCharge, (await models.UsageCharge.deleteMany({ tenantId })).deletedCount);
  count(models.Subscription, (await models.Subscription.deleteMany({ tenantId })).deletedCount);
  count(models.Result, (await models.Result.deleteMany({ tenantId })).deletedCount);
  if (shop) {
    await models.Shop.updateOne(
      { _id: shop._id, tenantId },
      {
        $set: {
          status: 'redacted',
          publishableKey: null,
          name: null,
          email: null,
          currencyCode: null,
          planName: null,
          primaryDomain: null,
          metafieldsPending: false,
          redactedAt: shop.redactedAt ?? now,
        },
      },
    );
  }
  return documents;
}

/**
 * The app's part in the platform's tenant deletion, on the server's connection: whether
 * or not the app is switched on in this process (the CLI deletes tenants without it), its
 * collections may hold the tenant's data.
 */
export function shopTenantErasure(connection: Connection): (tenantId: string, now: Date) => Promise<Record<string, number>> {
  const models = createShopifyModels(connection);
  return (tenantId, now) => eraseShopTenant(models, tenantId, now);
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
