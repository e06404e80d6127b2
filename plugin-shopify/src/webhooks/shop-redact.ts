import { eraseShopTenant } from '../shop-erasure.js';
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
  // The tenant's deletion erases what the app keeps of the shop (shop-erasure.ts); again
  // here for a shop whose tenant was gone before.
  await eraseShopTenant(deps.models, shop.tenantId, deps.now());
  return 'tenant deleted';
};
