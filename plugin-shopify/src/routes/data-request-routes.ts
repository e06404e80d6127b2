import { Router } from 'express';
import type { Shopify } from '@shopify/shopify-api';
import type { ShopifyModels } from '../models/index.js';
import type { ShopperData } from '../ports.js';
import { sendProblem } from '../problem.js';
import type { ShopInstaller } from '../shop-installer.js';
import { customerShopperId } from './proxy-routes.js';
import { embeddedAdminAuth, embeddedShop } from './embedded-auth.js';

export const DATA_REQUESTS_PATH = '/shopify/api/data-requests';
/** How long the image links in a downloaded export work: long enough to pass it on to the customer. */
export const EXPORT_LINK_TTL_SECONDS = 7 * 86_400;
const LIST_LIMIT = 100;

/**
 * `customers/data_request` answered: the merchant lists the requests in the embedded
 * admin and downloads each one's export (JSON: the customer's generations with their
 * parameters and prompts, dates, and image links valid for seven days) to send to the
 * customer. The export is built at download time, so it holds what is stored then, and
 * each download is a `data.exported` entry in the tenant's audit log (the webhook only
 * records the request: no data leaves until the merchant downloads it).
 */
export function dataRequestRoutes(deps: {
  shopify: Shopify;
  installer: ShopInstaller;
  models: ShopifyModels;
  shoppers: ShopperData;
  now: () => Date;
}): Router {
  const router = Router();
  const auth = embeddedAdminAuth(deps);

  router.get(DATA_REQUESTS_PATH, auth, async (_req, res) => {
    const shop = embeddedShop(res);
    const exports = await deps.models.DataExport.find({ shop: shop._id }).sort({ requestedAt: -1 }).limit(LIST_LIMIT).lean();
    res.json({
      data: exports.map((record) => ({
        id: record._id,
        customerId: record.customerId,
        requestId: record.requestId,
        requestedAt: record.requestedAt.toISOString(),
        generations: record.generations,
        downloadedAt: record.downloadedAt?.toISOString() ?? null,
      })),
    });
  });

  router.get(`${DATA_REQUESTS_PATH}/:id`, auth, async (req, res) => {
    const shop = embeddedShop(res);
    const id = String(req.params.id);
    // By id and shop together: another shop's export is not found, exactly as a made-up id.
    const record = /^dxp_[A-Za-z0-9-]{1,80}$/.test(id)
      ? await deps.models.DataExport.findOne({ _id: id, shop: shop._id }).lean()
      : null;
    if (!record) return sendProblem(res, 'not_found', 'No such data request.');
    const generations = await deps.shoppers.export(shop.tenantId, customerShopperId(record.customerId), EXPORT_LINK_TTL_SECONDS, {
      topic: 'customers/data_request',
      id: record._id,
    });
    const now = deps.now();
    await deps.models.DataExport.updateOne({ _id: record._id }, { $set: { downloadedAt: now } });
    res.setHeader('Cache-Control', 'no-store');
    res.setHeader('Content-Disposition', `attachment; filename="atelier-customer-${record.customerId}.json"`);
    res.json({
      shop: shop._id,
      customerId: record.customerId,
      requestId: record.requestId,
      requestedAt: record.requestedAt.toISOString(),
      exportedAt: now.toISOString(),
      generations,
    });
  });

  return router;
}
