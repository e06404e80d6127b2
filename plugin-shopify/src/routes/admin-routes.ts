import { Router, type Response } from 'express';
import { GraphqlQueryError, type Shopify } from '@shopify/shopify-api';
import { PERFORMANCES, STYLE_LIBRARY, type TenantConfig } from '@atelier/protocol';
import { createLogger } from '@atelier/runtime';
import { createProductMedia, listProducts } from '../admin/product-media.js';
import type { ShopResults } from '../admin/shop-results.js';
import type { ShopifyModels } from '../models/index.js';
import type { ShopRecord } from '../models/shop.model.js';
import type { CreditsPort, TenantSettingsPort } from '../ports.js';
import { sendProblem } from '../problem.js';
import type { MongoSessionStorage } from '../session-storage.js';
import type { ShopInstaller } from '../shop-installer.js';
import { embeddedAdminAuth, embeddedShop } from './embedded-auth.js';
import { readBody } from './json-body.js';

const log = createLogger('shopify-admin');

/** The app embed's block handle (`blocks/app-embed.liquid`): the theme editor's deep link names it. */
export const APP_EMBED_HANDLE = 'app-embed';
/** The parts of the tenant's configuration the embedded admin edits. */
const SETTINGS_KEYS = ['branding', 'styles', 'presets'] as const;
const IMAGE_ID = /^[A-Za-z0-9_-]{1,64}$/;
const PRODUCT_ID = /^gid:\/\/shopify\/Product\/[0-9]{1,20}$/;
const MAX_QUOTA = 1000;
const USAGE_DAYS = 30;

export interface AdminRouteDeps {
  shopify: Shopify;
  installer: ShopInstaller;
  models: ShopifyModels;
  sessions: MongoSessionStorage;
  settings: TenantSettingsPort;
  credits: CreditsPort;
  results: ShopResults;
  apiKey: string;
}

/**
 * The embedded admin's API: every route is behind the session-token check. Bodies come
 * parsed and screened by the server's JSON parser (its size limit included), which runs
 * before this router; readBody refuses members a route does not read.
 */
export function adminRoutes(deps: AdminRouteDeps): Router {
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
      publishableKey: record.publishableKey,
      themeEditorUrl: `https://${record._id}/admin/themes/current/editor?context=apps&activateAppId=${deps.apiKey}/${APP_EMBED_HANDLE}`,
    });
  });

  router.get('/shopify/api/settings', auth, async (_req, res) => {
    res.json(settingsBody(await deps.settings.get(embeddedShop(res).tenantId)));
  });

  // A JSON merge patch of the look, styles and presets, validated by the platform exactly as PUT /v1/config is.
  router.put('/shopify/api/settings', auth, async (req, res) => {
    const patch: unknown = req.body;
    if (typeof patch !== 'object' || patch === null || Array.isArray(patch)) {
      return sendProblem(res, 'invalid_request', 'The body must be a JSON object (a merge patch of branding, styles, presets).');
    }
    const other = Object.keys(patch).find((key) => !(SETTINGS_KEYS as readonly string[]).includes(key));
    if (other !== undefined) {
      return sendProblem(res, 'invalid_request', `${other}: unknown field (only ${SETTINGS_KEYS.join(', ')} are editable here)`);
    }
    const shop = embeddedShop(res);
    const config = await deps.settings.update(shop.tenantId, patch);
    log.info({ shop: shop._id, fields: Object.keys(patch) }, 'settings saved');
    res.json(settingsBody(config));
  });

  router.put('/shopify/api/quotas', auth, async (req, res) => {
    const quota = (value: unknown) =>
      Number.isInteger(value) && (value as number) >= 0 && (value as number) <= MAX_QUOTA
        ? undefined
        : `must be a whole number from 0 to ${MAX_QUOTA}`;
    const input = readBody(req, { guestPerDay: quota, customerPerDay: quota });
    if (!input.ok) return sendProblem(res, 'invalid_request', input.detail);
    const quotas = { guestPerDay: input.body.guestPerDay as number, customerPerDay: input.body.customerPerDay as number };
    const shop = embeddedShop(res);
    await deps.models.Shop.updateOne({ _id: shop._id }, { $set: { quotas } });
    res.json({ quotas });
  });

  router.get('/shopify/api/account', auth, async (_req, res) => {
    const { tenantId } = embeddedShop(res);
    const to = new Date();
    const from = new Date(to.getTime() - (USAGE_DAYS - 1) * 86_400_000);
    const [account, usage] = await Promise.all([
      deps.credits.account(tenantId),
      deps.credits.usage(tenantId, day(from), day(to)),
    ]);
    res.json({ ...account, usage });
  });

  router.get('/shopify/api/results', auth, async (_req, res) => {
    res.json({ data: await deps.results.list(embeddedShop(res)) });
  });

  router.get('/shopify/api/products', auth, async (_req, res) => {
    const session = await offlineSession(deps, embeddedShop(res));
    const products = await shopifyCall(res, () => listProducts(deps.shopify, session));
    if (products !== undefined) res.json({ data: products });
  });

  // An approved picture the shopper consented to becomes media of one of the shop's products.
  router.post('/shopify/api/results/:imageId/media', auth, async (req, res) => {
    const { imageId } = req.params as { imageId: string };
    if (!IMAGE_ID.test(imageId)) return sendProblem(res, 'invalid_request', 'imageId must be an image id');
    const input = readBody(req, {
      productId: (value) =>
        typeof value === 'string' && PRODUCT_ID.test(value) ? undefined : 'must be a product id (gid://shopify/Product/<n>)',
    });
    if (!input.ok) return sendProblem(res, 'invalid_request', input.detail);
    const productId = input.body.productId as string;
    const shop = embeddedShop(res);
    const result = await deps.results.get(shop, imageId);
    if (!result) return sendProblem(res, 'not_found', 'No picture of this shop has that id.');
    if (result.status !== 'approved')
      return sendProblem(res, 'conflict', 'Approve the picture before using it as product media.');
    if (!result.consent) {
      return sendProblem(res, 'conflict', 'The shopper has not picked this picture, so they have not agreed to its reuse.');
    }
    const session = await offlineSession(deps, shop);
    const created = await shopifyCall(res, () =>
      createProductMedia(deps.shopify, session, { productId, url: result.url, alt: result.prompt.slice(0, 512) }),
    );
    if (created === undefined) return;
    if ('error' in created) return sendProblem(res, 'invalid_request', `Shopify refused the media: ${created.error}`);
    await deps.results.addMedia(shop, imageId, { productId, mediaId: created.mediaId });
    log.info({ shop: shop._id, imageId, productId }, 'picture added as product media');
    res.status(201).json({ productId, mediaId: created.mediaId });
  });

  router.post('/shopify/api/results/:imageId/:action', auth, async (req, res) => {
    const { imageId, action } = req.params as { imageId: string; action: string };
    if (action !== 'hide' && action !== 'approve') return sendProblem(res, 'not_found', `No action ${action} (hide, approve).`);
    if (!IMAGE_ID.test(imageId)) return sendProblem(res, 'invalid_request', 'imageId must be an image id');
    const input = readBody(req, {});
    if (!input.ok) return sendProblem(res, 'invalid_request', input.detail);
    const result = await deps.results.moderate(embeddedShop(res), imageId, action === 'hide' ? 'hidden' : 'approved');
    if (!result) return sendProblem(res, 'not_found', 'No picture of this shop has that id.');
    res.json(result);
  });

  return router;
}

function settingsBody(config: TenantConfig) {
  return {
    branding: config.branding,
    styles: config.styles,
    presets: config.presets,
    // What the admin offers to choose from.
    catalogue: { styles: STYLE_LIBRARY.map((style) => style.name), presets: PERFORMANCES },
  };
}

async function offlineSession(deps: AdminRouteDeps, shop: ShopRecord) {
  const session = await deps.sessions.loadSession(deps.shopify.session.getOfflineId(shop._id));
  // embeddedAdminAuth installs a shop without one; a missing session here is a fault.
  if (!session) throw new Error(`no offline session for ${shop._id}`);
  return session;
}

/** Shopify's answer to a GraphQL call; a refusal (throttled after retries, an error) answered as a 503 and undefined. */
async function shopifyCall<T>(res: Response, call: () => Promise<T>): Promise<T | undefined> {
  try {
    return await call();
  } catch (error) {
    if (!(error instanceof GraphqlQueryError)) throw error;
    log.warn({ reason: error.message }, 'Admin API call refused');
    sendProblem(res, 'unavailable', 'Shopify did not answer the request; try again in a moment.');
    return undefined;
  }
}

function day(date: Date): string {
  return date.toISOString().slice(0, 10);
}
