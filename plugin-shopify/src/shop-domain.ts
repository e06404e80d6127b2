/**
 * A shop's permanent domain as Shopify names it. Stricter than the library's own check
 * (which also takes other Shopify hosts and admin URLs): only this form is ever a tenant.
 */
export const SHOP_DOMAIN_PATTERN = /^[a-z0-9][a-z0-9-]*\.myshopify\.com$/;

/** The domain when `value` is exactly a shop domain; undefined for anything else. */
export function shopDomain(value: unknown): string | undefined {
  return typeof value === 'string' && value.length <= 255 && SHOP_DOMAIN_PATTERN.test(value) ? value : undefined;
}
