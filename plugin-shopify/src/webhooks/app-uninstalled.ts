import type { WebhookHandler } from './handler.js';
import { beforeInstall } from './handler.js';

/**
 * `app/uninstalled`: Shopify has already revoked the token; our copy of it goes, the
 * tenant is suspended (its keys stop working, the dispatcher skips it) and its queued
 * jobs are stopped with their credits handed back; its subscriptions end (Shopify cancels
 * them). The tenant and its data stay until
 * `shop/redact`, so a reinstall within the grace period finds everything as it was.
 */
export const appUninstalled: WebhookHandler = async (delivery, deps) => {
  const shop = await deps.models.Shop.findById(delivery.shop).lean();
  if (!shop || shop.status === 'redacted') return 'unknown or redacted shop';
  if (beforeInstall(delivery, shop.installedAt)) return 'stale: triggered before the latest install';
  const sessions = await deps.sessions.deleteShop(delivery.shop);
  await deps.tenants.suspend(shop.tenantId);
  const stopped = await deps.tenants.stopQueuedWork(shop.tenantId);
  const subscriptions = await deps.billing.uninstalled(delivery.shop, shop.tenantId);
  if (shop.status === 'installed') {
    await deps.models.Shop.updateOne(
      { _id: delivery.shop },
      { $set: { status: 'uninstalled', uninstalledAt: delivery.triggeredAt ?? deps.now() } },
    );
  }
  return `suspended; ${sessions} sessions deleted; ${stopped} queued jobs stopped; ${subscriptions} subscriptions ended`;
};
