import { createHmac } from 'node:crypto';
import { Router, type Request, type Response } from 'express';
import { InvalidHmacError, type AuthQuery, type Shopify } from '@shopify/shopify-api';
import { createLogger } from '@atelier/runtime';
import type { ShopResults } from '../admin/shop-results.js';
import type { ShopifyModels } from '../models/index.js';
import type { ShopperSessionsPort } from '../ports.js';
import { sendProblem } from '../problem.js';
import { shopDomain } from '../shop-domain.js';
import { readBody } from './json-body.js';

const log = createLogger('shopify-proxy');

/** Where Shopify forwards the storefront's `/apps/<subpath>/…` (the app proxy's URL in shopify.app.toml). */
export const PROXY_PATH = '/shopify/proxy';

/**
 * Storefront traffic through the app proxy. Shopify signs what it forwards: `signature`
 * is the hex HMAC-SHA256 of the other parameters sorted and joined without separators.
 * The library checks it in constant time and refuses a `timestamp` more than 90 seconds
 * off; only then are `shop` and `logged_in_customer_id` believed.
 */
export function proxyRoutes(deps: {
  shopify: Shopify;
  models: ShopifyModels;
  shopperSessions: ShopperSessionsPort;
  results: ShopResults;
}): Router {
  const router = Router();
  // Guests are named by a keyed hash of their address: stable for the shop, the address never stored.
  const guestKey = createHmac('sha256', deps.shopify.config.apiSecretKey).update('atelier shopify guest id').digest();

  /** The signed query's shop and customer, or undefined with the refusal sent. */
  const verified = async (req: Request, res: Response): Promise<{ shop: string; customer: string } | undefined> => {
    res.setHeader('Cache-Control', 'no-store');
    const query = req.query as Record<string, string | string[]>;
    let valid: boolean;
    try {
      // Repeated parameters reach the library as lists, which it joins with commas as
      // Shopify does; its `AuthQuery` type says strings only.
      valid = await deps.shopify.utils.validateHmac(query as AuthQuery, { signator: 'appProxy' });
    } catch (error) {
      if (!(error instanceof InvalidHmacError)) throw error;
      sendProblem(res, 'unauthorized', 'The app proxy signature is missing or its timestamp is too old.');
      return undefined;
    }
    if (!valid) return void sendProblem(res, 'unauthorized', 'The app proxy signature is not valid.');
    const shop = shopDomain(query.shop);
    if (!shop) return void sendProblem(res, 'invalid_request', 'shop must be a shop domain: <name>.myshopify.com');
    const customer = query.logged_in_customer_id ?? '';
    if (typeof customer !== 'string' || !/^[0-9]{0,20}$/.test(customer)) {
      return void sendProblem(res, 'invalid_request', 'logged_in_customer_id must be a customer id or empty');
    }
    return { shop, customer };
  };

  const installedShop = async (res: Response, shop: string) => {
    const record = await deps.models.Shop.findById(shop).lean();
    if (record?.status === 'installed' && record.publishableKey) return { ...record, publishableKey: record.publishableKey };
    sendProblem(res, 'not_found', 'The app is not installed on this shop.');
    return undefined;
  };

  // The widget's shopper session for this shop, with the shop's quota for a guest or a customer.
  router.get(`${PROXY_PATH}/session`, async (req, res) => {
    const signed = await verified(req, res);
    if (!signed) return;
    const { shop, customer } = signed;
    const record = await installedShop(res, shop);
    if (!record) return;
    // One shopper id per customer, and per guest address, for every session: the server counts
    // each shopper's pictures per day, so a new session does not start a new quota.
    const session = await deps.shopperSessions.mint(record.tenantId, {
      shopperId: customer !== '' ? customerShopperId(customer) : guestShopperId(guestKey, shop, guestAddress(req)),
      quota: { generationsPerDay: customer !== '' ? record.quotas.customerPerDay : record.quotas.guestPerDay },
    });
    log.debug({ shop, tenantId: record.tenantId, customer: customer !== '' }, 'shopper session minted');
    res.json({ ...session, publishableKey: record.publishableKey, customer: customer !== '' });
  });

  // The shopper picked their picture (`atelier-select`): their consent to the shop reusing it.
  // The body names the picture and carries the shopper's own session, so only its maker consents.
  router.post(`${PROXY_PATH}/picks`, async (req, res) => {
    const signed = await verified(req, res);
    if (!signed) return;
    const input = readBody(req, {
      imageId: (value) => (typeof value === 'string' && /^[A-Za-z0-9_-]{1,64}$/.test(value) ? undefined : 'must be an image id'),
      sessionToken: (value) =>
        typeof value === 'string' && value.length <= 4096 ? undefined : 'must be the shopper session from /session',
    });
    if (!input.ok) return sendProblem(res, 'invalid_request', input.detail);
    const { imageId, sessionToken } = input.body as { imageId: string; sessionToken: string };
    const record = await installedShop(res, signed.shop);
    if (!record) return;
    if (!(await deps.results.consent(record, sessionToken, imageId))) {
      return sendProblem(res, 'not_found', "No picture of this shopper's session has that id.");
    }
    res.status(204).end();
  });

  return router;
}

/** A logged-in customer's shopper id: the same for every visit, so their quota follows them. */
export function customerShopperId(customerId: string | number): string {
  return `shopify-customer:${customerId}`;
}

/**
 * A guest's shopper id: the shop and the guest's address, hashed with a key of the app's,
 * so one guest keeps one id (and one daily quota) across sessions, and the id reveals no
 * address. Why the address: Shopify's app proxy strips cookies both ways, so no cookie of
 * ours reaches the storefront's `/apps/…`, and anything the page keeps itself (localStorage)
 * the guest can clear for a fresh quota; the address holds across sessions, private
 * windows and cleared storage. The cost: guests behind one address (an office, a carrier's
 * NAT) share the guest quota; logged-in customers are counted by customer id instead.
 */
export function guestShopperId(key: Buffer, shop: string, address: string): string {
  return `shopify-guest:${createHmac('sha256', key).update(`${shop}|${address}`).digest('base64url').slice(0, 32)}`;
}

/**
 * The guest's address as Shopify forwards it: the first `X-Forwarded-For` entry (Shopify's
 * "client IP address"; proxies of our own in front of the server only append to it). The
 * request is signed by Shopify, so it came through Shopify.
 */
function guestAddress(req: Request): string {
  const forwarded = req.get('x-forwarded-for')?.split(',')[0]?.trim();
  return forwarded || req.socket.remoteAddress || 'unknown';
}
