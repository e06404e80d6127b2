import { Router } from 'express';
import type { Connection } from 'mongoose';
import type { Shopify } from '@shopify/shopify-api';
import { adminPage } from './admin/admin-page.js';
import { ShopResults } from './admin/shop-results.js';
import type { ShopifyConfig } from './config.js';
import { createShopifyModels, type ShopifyModels } from './models/index.js';
import type { ShopifyPorts } from './ports.js';
import { adminRoutes } from './routes/admin-routes.js';
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
  /** How often failed webhooks are tried again. */
  webhookRetryMs?: number;
}

export interface ShopifyApp {
  /** Mount before any body parser: webhooks are verified over their raw bytes. */
  router: Router;
  shopify: Shopify;
  models: ShopifyModels;
  sessions: MongoSessionStorage;
  inbox: WebhookInbox;
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
  const installer = new ShopInstaller({ shopify, models, sessions, tenants: deps.tenants, now });
  const inbox = new WebhookInbox({ ...ports(deps), models, sessions, now, retryMs: deps.webhookRetryMs ?? 30_000 });

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
  router.use(oauthRoutes({ shopify, models, installer, now }));
  router.use(proxyRoutes({ shopify, models, shopperSessions: deps.shopperSessions, results }));
  router.use(webhookRoutes({ shopify, models, inbox, now }));

  return {
    router,
    shopify,
    models,
    sessions,
    inbox,
    async start() {
      // Without SHOPIFY_APP_URL the app URL follows the server's, known only once it listens (port 0 in tests).
      if (deps.config.appUrl === undefined) setAppUrl(shopify, `${deps.publicUrl()}/shopify`);
      await Promise.all(Object.values(models).map((model) => model.createIndexes()));
      inbox.start();
    },
    stop: () => inbox.stop(),
  };
}

function setAppUrl(shopify: Shopify, appUrl: string): void {
  const url = new URL(appUrl);
  shopify.config.hostName = url.host;
  shopify.config.hostScheme = url.protocol === 'http:' ? 'http' : 'https';
}

function ports(deps: ShopifyPorts): ShopifyPorts {
  const { tenants, shopperSessions, shoppers, settings, credits, results } = deps;
  return { tenants, shopperSessions, shoppers, settings, credits, results };
}
