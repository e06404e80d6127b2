import type { WebhookHandler } from './handler.js';

/**
 * `shop/update`: the shop's name, email, currency and plan follow Shopify's, and the
 * tenant's name with them. An update older than the one already applied is skipped,
 * so a late redelivery cannot roll the name back.
 */
export const shopUpdate: WebhookHandler = async (delivery, deps) => {
  const shop = await deps.models.Shop.findById(delivery.shop).lean();
  if (!shop || shop.status === 'redacted') return 'unknown or redacted shop';
  const at = delivery.triggeredAt ?? deps.now();
  if (shop.detailsAt && shop.detailsAt.getTime() >= at.getTime()) return 'stale: a later update was applied';
  const { payload } = delivery;
  const name = text(payload.name) ?? shop.name;
  const changes = {
    name,
    email: text(payload.email) ?? shop.email,
    currencyCode: text(payload.currency) ?? shop.currencyCode,
    planName: text(payload.plan_display_name) ?? shop.planName,
    primaryDomain: text(payload.domain) ? `https://${text(payload.domain)}` : shop.primaryDomain,
    detailsAt: at,
  };
  await deps.models.Shop.updateOne({ _id: delivery.shop }, { $set: changes });
  if (name) {
    const origins = [
      ...new Set([`https://${delivery.shop}`, ...(changes.primaryDomain ? [originOf(changes.primaryDomain)] : [])]),
    ];
    await deps.tenants.rename(shop.tenantId, { name, origins: origins.filter((o): o is string => o !== undefined) });
  }
  return 'shop details updated';
};

function text(value: unknown): string | undefined {
  return typeof value === 'string' && value.length > 0 && value.length <= 255 ? value : undefined;
}

function originOf(url: string): string | undefined {
  try {
    return new URL(url).origin;
  } catch {
    return undefined;
  }
}
