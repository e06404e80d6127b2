import { Router } from 'express';
import { InvalidHmacError, type AuthQuery, type Shopify } from '@shopify/shopify-api';
import { createLogger } from '@atelier/runtime';
import type { ShopifyModels } from '../models/index.js';
import type { ShopperSessionsPort } from '../ports.js';
import { sendProblem } from '../problem.js';
import { shopDomain } from '../shop-domain.js';

const log = createLogger('shopify-proxy');

/** Where Shopify forwards the storefront's `/apps/<subpath>/…` (the app proxy's URL in shopify.app.toml). */
export const PROXY_PATH = '/shopify/proxy';

/**
 * Storefront traffic through the app proxy. Shopify signs what it forwards: `signature`
 * is the hex HMAC-SHA256 of the other parameters sorted and joined without separators.
 * The library checks it in constant time and refuses a `timestamp` more than 90 seconds
 * off; only then are `shop` and `logged_in_customer_id` believed.
 */
export function proxyRoutes(deps: { shopify: Shopify; models: ShopifyModels; shopperSessions: ShopperSessionsPort }): Router {
  const router = Router();

  // The widget's shopper session for this shop, with the shop's quota for a guest or a customer.
  router.get(`${PROXY_PATH}/session`, async (req, res) => {
    res.setHeader('Cache-Control', 'no-store');
    const query = req.query as Record<string, string | string[]>;
    let valid: boolean;
    try {
      // Repeated parameters reach the library as lists, which it joins with commas as
      // Shopify does; its `AuthQuery` type says strings only.
      valid = await deps.shopify.utils.validateHmac(query as AuthQuery, { signator: 'appProxy' });
    } catch (error) {
      if (!(error instanceof InvalidHmacError)) throw error;
      return sendProblem(res, 'unauthorized', 'The app proxy signature is missing or its timestamp is too old.');
    }
    if (!valid) return sendProblem(res, 'unauthorized', 'The app proxy signature is not valid.');

    const shop = shopDomain(query.shop);
    if (!shop) return sendProblem(res, 'invalid_request', 'shop must be a shop domain: <name>.myshopify.com');
    const customer = query.logged_in_customer_id ?? '';
    if (typeof customer !== 'string' || !/^[0-9]{0,20}$/.test(customer)) {
      return sendProblem(res, 'invalid_request', 'logged_in_customer_id must be a customer id or empty');
    }
    const record = await deps.models.Shop.findById(shop).lean();
    if (!record || record.status !== 'installed' || !record.publishableKey) {
      return sendProblem(res, 'not_found', 'The app is not installed on this shop.');
    }
    const session = await deps.shopperSessions.mint(record.tenantId, {
      ...(customer !== '' && { shopperId: customerShopperId(customer) }),
      quota: { generationsPerDay: customer !== '' ? record.quotas.customerPerDay : record.quotas.guestPerDay },
    });
    log.debug({ shop, tenantId: record.tenantId, customer: customer !== '' }, 'shopper session minted');
    res.json({ ...session, publishableKey: record.publishableKey, customer: customer !== '' });
  });

  return router;
}

/** A logged-in customer's shopper id: the same for every visit, so their quota follows them. */
export function customerShopperId(customerId: string | number): string {
  return `shopify-customer:${customerId}`;
}
