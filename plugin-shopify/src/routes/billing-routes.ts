import { Router, type Response } from 'express';
import type { Shopify } from '@shopify/shopify-api';
import { BillingRefusal, type BillingService } from '../billing/billing-service.js';
import { isPaidPlan, PAID_PLANS } from '../billing/billing-plans.js';
import type { ShopifyModels } from '../models/index.js';
import { sendProblem } from '../problem.js';
import { shopDomain } from '../shop-domain.js';
import type { ShopInstaller } from '../shop-installer.js';
import { embeddedAdminAuth, embeddedShop } from './embedded-auth.js';
import { readBody } from './json-body.js';

export const BILLING_PATH = '/shopify/api/billing';
/** Where Shopify sends the merchant back after approving (or declining) a subscription. */
export const BILLING_RETURN_PATH = '/shopify/billing/return';

/**
 * The shop's plan in the embedded admin: what it is and how much usage it has left
 * (`GET`), a new plan to approve (`POST …/subscribe` answers the URL where the merchant
 * approves it), and back to the free plan (`POST …/cancel`).
 */
export function billingRoutes(deps: {
  shopify: Shopify;
  installer: ShopInstaller;
  models: ShopifyModels;
  billing: BillingService;
}): Router {
  const router = Router();
  const auth = embeddedAdminAuth(deps);

  router.get(BILLING_PATH, auth, async (_req, res) => {
    res.json(await deps.billing.summary(embeddedShop(res)));
  });

  router.post(`${BILLING_PATH}/subscribe`, auth, async (req, res) => {
    const input = readBody(req, {
      plan: (value) => (isPaidPlan(value) ? undefined : `must be one of ${PAID_PLANS.join(', ')}`),
    });
    if (!input.ok) return sendProblem(res, 'invalid_request', input.detail);
    await refusals(res, async () => {
      res.json(await deps.billing.subscribe(embeddedShop(res), input.body.plan as (typeof PAID_PLANS)[number]));
    });
  });

  router.post(`${BILLING_PATH}/cancel`, auth, async (req, res) => {
    const input = readBody(req, {});
    if (!input.ok) return sendProblem(res, 'invalid_request', input.detail);
    await refusals(res, async () => {
      res.json(await deps.billing.cancel(embeddedShop(res)));
    });
  });

  // A top-level browser redirect from Shopify: nothing in it is signed, so it is not
  // believed; the shop's subscriptions are read back from Shopify with its own token.
  router.get(BILLING_RETURN_PATH, async (req, res) => {
    const shop = shopDomain(req.query.shop);
    if (!shop) return sendProblem(res, 'invalid_request', 'shop must be a shop domain: <name>.myshopify.com');
    const record = await deps.models.Shop.findById(shop).lean();
    if (record?.status !== 'installed') return sendProblem(res, 'not_found', 'The app is not installed on this shop.');
    await deps.billing.sync(shop);
    res.redirect(302, `https://${shop}/admin/apps/${deps.shopify.config.apiKey}`);
  });

  return router;
}

async function refusals(res: Response, work: () => Promise<void>): Promise<void> {
  try {
    await work();
  } catch (error) {
    if (!(error instanceof BillingRefusal)) throw error;
    sendProblem(res, error.code, error.message);
  }
}
