/**
 * `@atelier/plugin-shopify`: the Shopify app as an Express router the server mounts —
 * managed installation (token exchange) with the authorization-code grant as fallback,
 * the app proxy that mints storefront shopper sessions, and the webhooks (uninstall,
 * shop update, the compliance topics). The server hands it narrow ports onto its own
 * tenant and shopper-session services (ports.ts).
 */
export { APP_BRIDGE_URL, loadShopifyConfig, type ShopifyConfig } from './config.js';
export { createShopifyApp, type ShopifyApp, type ShopifyAppDeps } from './shopify-app.js';
export { shopTenantErasure, type ShopTenantErasure } from './shop-erasure.js';
export { createShopifyModels, type ShopifyModels } from './models/index.js';
export type {
  ShopTenants,
  ShopperSessionsPort,
  ShopperData,
  ComplianceRequest,
  ShopperGeneration,
  ShopifyPorts,
  TenantBilling,
  CreditShortfall,
  ShortfallAnswer,
  TenantSettingsPort,
  CreditsPort,
  ShopperResult,
  ShopperResultsPort,
} from './ports.js';
export { BILLING_PLANS, PAID_PLANS, type BillingPlan } from './billing/billing-plans.js';
export type { BillingSummary } from './billing/billing-service.js';
export { BILLING_PATH, BILLING_RETURN_PATH } from './routes/billing-routes.js';
export { DATA_REQUESTS_PATH, EXPORT_LINK_TTL_SECONDS } from './routes/data-request-routes.js';
export { METAFIELD_NAMESPACE } from './app-metafields.js';
export { SHOP_DOMAIN_PATTERN } from './shop-domain.js';
export { SHOPIFY_API_VERSION } from './shopify-client.js';
export { OAUTH_BEGIN_PATH, OAUTH_CALLBACK_PATH } from './routes/oauth-routes.js';
export { PROXY_PATH, customerShopperId } from './routes/proxy-routes.js';
export { WEBHOOK_PATH } from './routes/webhook-routes.js';
export type { ShopRecord, ShopStatus } from './models/shop.model.js';
