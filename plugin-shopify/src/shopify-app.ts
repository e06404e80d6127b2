import { Router } from 'express';
import type { Connection } from 'mongoose';
import type { Shopify } from '@shopify/shopify-api';
import { adminPage } from './admin/admin-page.js';
import { ShopResults } from './admin/shop-results.js';
import type { ShopifyConfig } from './config.js';
import { createShopifyModels, type ShopifyModels } from './models/index.js';
import type { ShopifyPorts } from './ports.js';
import { BillingApi } from './billing/billing-api.js';
import { BillingService } from './billing/billing-service.js';
import { UsageOutbox } from './billing/usage-outbox.js';
import { adminRoutes } from './routes/admin-routes.js';
import { BILLING_RETURN_PATH, billingRoutes } from './routes/billing-routes.js';
import { dataRequestRoutes } from './routes/data-request-routes.js';
import { oauthRoutes } from './routes/oauth-routes.js';
import { proxyRoutes } from './routes/proxy-routes.js';
import { webhookRoutes } from './routes/webhook-routes.js';
import { MongoSessionStorage } from './session-storage.js';
import { createShopifyClient } from './shopify-client.js';
import { ShopInstaller } from './shop-installer.js';
import { TokenCipher } from './token-cipher.js';
import { WebhookInbox } from './webhooks/webhook-inbox.js';

export interface ShopifyAppDeps extends ShopifyPorts {
  config: ShopifyConfig;
  /** The server's database connection: the app's collections live beside the platform's. */
  connection: Connection;
  /** The server's public URL, read when the app starts (the app URL defaults to `<it>/shopify`). */
  publicUrl: () => string;
  now?: () => Date;
  /** How often failed webhooks (and usage records) are tried again. */
  webhookRetryMs?: number;
}

export interface ShopifyApp {
  /** The webhooks: mount before any body parser, since they are verified over their raw bytes. */
  webhookRouter: Router;
  /** Everything else (install, admin API, billing, app proxy): mount after the JSON parser and input screening. */
  router: Router;
  shopify: Shopify;
  models: ShopifyModels;
  sessions: MongoSessionStorage;
  inbox: WebhookInbox;
  /** Subscriptions and usage; `billing.cover` is the server's credit-shortfall hook for shop tenants. */
  billing: BillingService;
  outbox: UsageOutbox;
  /** Creates the app's indexes and starts working off webhooks. */
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** The Shopify app: one `shopifyApi()` instance, its storage, and the router the server mounts. */
export function createShopifyApp(deps: ShopifyAppDeps): ShopifyApp {
  const now = deps.now ?? (() => new Date());
  const models = createShopifyModels(deps.connection);
  const sessions = new MongoSessionStorage({ models, cipher: new TokenCipher(deps.config.tokenKey) });
  // Until the server listens its URL may be unknown; start() sets it (below).
  const shopify = createShopifyClient(deps.config, deps.config.appUrl ?? `${deps.publicUrl() || 'http://127.0.0.1'}/shopify`);
  const retryMs = deps.webhookRetryMs ?? 30_000;
  const installer = new ShopInstaller({
    shopify,
    models,
    sessions,
    tenants: deps.tenants,
    settings: deps.settings,
    serverUrl: deps.publicUrl,
    now,
    retryMs,
  });
  const api = new BillingApi(shopify);
  const outbox = new UsageOutbox({ shopify, models, sessions, billing: deps.billing, api, now, retryMs });
  const billing = new BillingService({
    shopify,
    models,
    sessions,
    billing: deps.billing,
    api,
    outbox,
    returnUrl: (shop) => `${serverOrigin(shopify)}${BILLING_RETURN_PATH}?shop=${encodeURIComponent(shop)}`,
    now,
  });
  const inbox = new WebhookInbox({ ...ports(deps), models, sessions, billing, now, retryMs });

  const results = new ShopResults({ models, results: deps.results });

  const router = Router();
  router.use(
    adminPage({ apiKey: deps.config.apiKey, appBridgeUrl: deps.config.appBridgeUrl, adminOrigin: deps.config.apiOrigin }),
  );
  router.use(
    adminRoutes({
      shopify,
      installer,
      models,
      sessions,
      settings: deps.settings,
      credits: deps.credits,
      results,
      apiKey: deps.config.apiKey,
    }),
  );
  router.use(billingRoutes({ shopify, installer, models, billing }));
  router.use(dataRequestRoutes({ shopify, installer, models, shoppers: deps.shoppers, now }));
  router.use(oauthRoutes({ shopify, models, installer, now }));
  router.use(proxyRoutes({ shopify, models, shopperSessions: deps.shopperSessions, results }));

  return {
    webhookRouter: webhookRoutes({ shopify, models, inbox, now }),
    router,
    shopify,
    models,
    sessions,
    inbox,
    billing,
    outbox,
    async start() {
      // Without SHOPIFY_APP_URL the app URL follows the server's, known only once it listens (port 0 in tests).
      if (deps.config.appUrl === undefined) setAppUrl(shopify, `${deps.publicUrl()}/shopify`);
      await Promise.all(Object.values(models).map((model) => model.createIndexes()));
      inbox.start();
      outbox.start();
      installer.start();
    },
    async stop() {
      await inbox.stop();
      await outbox.stop();
      await installer.stop();
    },
  };
}

/** The server's origin as Shopify reaches it (the library's host name and scheme); routes hang below it. */
function serverOrigin(shopify: Shopify): string {
  return `${shopify.config.hostScheme}://${shopify.config.hostName}`;
}

function setAppUrl(shopify: Shopify, appUrl: string): void {
  const url = new URL(appUrl);
  shopify.config.hostName = url.host;
  shopify.config.hostScheme = url.protocol === 'http:' ? 'http' : 'https';
}

function ports(deps: ShopifyPorts): Omit<ShopifyPorts, 'billing'> {
  const { tenants, shopperSessions, shoppers, settings, credits, results } = deps;
  return { tenants, shopperSessions, shoppers, settings, credits, results };
}
