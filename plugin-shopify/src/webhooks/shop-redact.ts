import mongoose from 'mongoose';
import type { WebhookHandler } from './handler.js';
import { beforeInstall } from './handler.js';

/**
 * `shop/redact` (mandatory compliance topic, 48 hours after uninstall): everything of
 * the shop goes — its tenant through the platform's tenant deletion (every tenant-owned
 * document and file), its sessions, and what the app kept of it. A tombstone stays
 * (domain, tenant id, when) so late or repeated events find the shop ended.
 */
export const shopRedact: WebhookHandler = async (delivery, deps) => {
  const shop = await deps.models.Shop.findById(delivery.shop).lean();
  if (!shop) return 'unknown shop';
  if (shop.status === 'installed' && beforeInstall(delivery, shop.installedAt))
    return 'stale: the shop was installed again since';
  await deps.tenants.delete(shop.tenantId);
  const sessions = await deps.sessions.deleteShop(delivery.shop);
  await deps.models.DataExport.deleteMany({ shop: delivery.shop });
  await deps.models.Result.deleteMany({ shop: delivery.shop });
  // Billing: Shopify keeps the shop's invoices; ours (subscriptions, usage charges and the
  // charges' send claims, whose ids start with the subscription's) name the tenant and go.
  const subscriptions = await deps.models.Subscription.find({ shop: delivery.shop }).select({ _id: 1 }).lean();
  for (const { _id } of subscriptions) {
    await deps.models.UsageSendClaim.deleteMany({ _id: mongoose.trusted({ $regex: `^${escapeRegExp(_id)}:` }) });
  }
  await deps.models.UsageCharge.deleteMany({ shop: delivery.shop });
  await deps.models.Subscription.deleteMany({ shop: delivery.shop });
  await deps.models.Shop.updateOne(
    { _id: delivery.shop },
    {
      $set: {
        status: 'redacted',
        publishableKey: null,
        name: null,
        email: null,
        currencyCode: null,
        planName: null,
        primaryDomain: null,
        redactedAt: shop.redactedAt ?? deps.now(),
      },
    },
  );
  // Payloads of the shop's other events (customers' names and emails) go too; the ids stay for deduplication.
  await deps.models.WebhookEvent.updateMany({ shop: delivery.shop }, { $set: { payload: null } });
  return `tenant deleted; ${sessions} sessions deleted`;
};

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
