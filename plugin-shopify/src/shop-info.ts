import type { Session, Shopify } from '@shopify/shopify-api';

/** What the app reads of a shop (Admin GraphQL `shop`). */
export interface ShopInfo {
  name: string;
  email: string;
  myshopifyDomain: string;
  currencyCode: string;
  primaryDomain: string | null;
  planName: string;
}

const SHOP_QUERY = `#graphql
  query AtelierShop {
    shop {
      name
      email
      myshopifyDomain
      currencyCode
      primaryDomain { url }
      plan { displayName partnerDevelopment shopifyPlus }
    }
  }`;

interface ShopQueryData {
  shop: {
    name: string;
    email: string;
    myshopifyDomain: string;
    currencyCode: string;
    primaryDomain: { url: string } | null;
    plan: { displayName: string };
  };
}

/** Reads the shop through the Admin GraphQL API with the shop's offline session. */
export async function readShopInfo(shopify: Shopify, session: Session): Promise<ShopInfo> {
  const client = new shopify.clients.Graphql({ session });
  const response = await client.request<ShopQueryData>(SHOP_QUERY, { retries: 2 });
  const shop = response.data?.shop;
  if (!shop) throw new Error('the Admin API answered the shop query without a shop');
  return {
    name: shop.name,
    email: shop.email,
    myshopifyDomain: shop.myshopifyDomain,
    currencyCode: shop.currencyCode,
    primaryDomain: shop.primaryDomain?.url ?? null,
    planName: shop.plan.displayName,
  };
}

/** The origins the storefront widget runs on: the shop's own domain and its primary domain. */
export function storefrontOrigins(shop: string, info: ShopInfo): string[] {
  const origins = new Set([`https://${shop}`]);
  if (info.primaryDomain) {
    try {
      origins.add(new URL(info.primaryDomain).origin);
    } catch {
      // A primary domain that is not a URL adds nothing: the shop's own domain still works.
    }
  }
  return [...origins];
}
