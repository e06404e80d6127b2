export {
  FakeShopify,
  type FakeFailure,
  type FakeShop,
  type FakeShopifyOptions,
  type FakeShopifyRequest,
} from './fake-shopify.js';
export { FakeBilling, type FakeDelivery, type FakeSubscription, type FakeUsageRecord } from './fake-billing.js';
export { FakeProducts, type FakeMedia, type FakeProduct } from './fake-products.js';
export { shopperGenerates, shopperJob, type ShopperAnswer, type ShopperGenerateInput } from './storefront-shopper.js';
export { ShopifySigner, verifyJwt, type SessionTokenClaims, type SignedWebhook, type WebhookInput } from './shopify-signer.js';
export {
  startShopifyTestApp,
  TEST_SHOPIFY_API_KEY,
  TEST_SHOPIFY_API_SECRET,
  TEST_SHOPIFY_SCOPES,
  TEST_SHOPIFY_TOKEN_KEY,
  type ShopifyTestApp,
} from './shopify-test-app.js';
