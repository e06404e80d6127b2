import { Router } from 'express';
import type { Shopify } from '@shopify/shopify-api';
import type { ShopInstaller } from '../shop-installer.js';
import { embeddedAdminAuth, embeddedShop } from './embedded-auth.js';

/** The embedded admin's API: every route is behind the session-token check. */
export function adminRoutes(deps: { shopify: Shopify; installer: ShopInstaller }): Router {
  const router = Router();
  const auth = embeddedAdminAuth(deps);

  router.get('/shopify/api/shop', auth, (_req, res) => {
    const record = embeddedShop(res);
    res.json({
      shop: record._id,
      tenantId: record.tenantId,
      status: record.status,
      name: record.name,
      plan: record.planName,
      quotas: record.quotas,
    });
  });

  return router;
}
