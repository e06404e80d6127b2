import { HttpResponseError, type Shopify } from '@shopify/shopify-api';
import mongoose, { type Connection } from 'mongoose';
import { createLogger } from '@atelier/runtime';
import { BillingApi } from './billing/billing-api.js';
import type { ShopifyConfig } from './config.js';
import { createShopifyModels, type ShopifyModels } from './models/index.js';
import { MongoSessionStorage } from './session-storage.js';
import { createShopifyClient } from './shopify-client.js';
import { TokenCipher } from './token-cipher.js';

const log = createLogger('shop-erasure');

/**
 * Erases what the app keeps of a shop's tenant: its results, subscriptions, usage charges
 * (and their send claims), the shop's sessions (sealed tokens) and data exports, and the
 * payloads of its webhook events (the ids stay for deduplication). The shop record stays
 * as a tombstone (domain, tenant id, when; no name, no email, no key), as after
 * `shop/redact`: late webhooks find the shop ended, and installing it again makes a new
 * tenant. Idempotent; counts what it deleted, by collection.
 *
 * Results, subscriptions and usage charges are found by their `tenantId`; what is keyed
 * by the shop only if the shop is still this tenant's (a shop redacted and installed
 * again belongs to a new tenant, whose data stays).
 */
export async function eraseShopTenant(models: ShopifyModels, tenantId: string, now: Date): Promise<Record<string, number>> {
  const documents: Record<string, number> = {};
  const count = (model: { collection: { collectionName: string } }, deleted: number) => {
    const name = model.collection.collectionName;
    documents[name] = (documents[name] ?? 0) + deleted;
  };
  const shop = await models.Shop.findOne({ tenantId }).lean();
  if (shop) {
    count(models.Session, (await models.Session.deleteMany({ shop: shop._id })).deletedCount);
    count(models.DataExport, (await models.DataExport.deleteMany({ shop: shop._id })).deletedCount);
    // Payloads of the shop's events may name customers.
    await models.WebhookEvent.updateMany({ shop: shop._id }, { $set: { payload: null } });
  }
  // Billing: Shopify keeps the shop's invoices; ours (subscriptions, usage charges and the
  // charges' send claims, whose ids start with the subscription's) name the tenant and go.
  const subscriptions = await models.Subscription.find({ tenantId }).select({ _id: 1 }).lean();
  for (const { _id } of subscriptions) {
    const claims = await models.UsageSendClaim.deleteMany({ _id: mongoose.trusted({ $regex: `^${escapeRegExp(_id)}:` }) });
    count(models.UsageSendClaim, claims.deletedCount);
  }
  count(models.UsageCharge, (await models.UsageCharge.deleteMany({ tenantId })).deletedCount);
  count(models.Subscription, (await models.Subscription.deleteMany({ tenantId })).deletedCount);
  count(models.Result, (await models.Result.deleteMany({ tenantId })).deletedCount);
  if (shop) {
    await models.Shop.updateOne(
      { _id: shop._id, tenantId },
      {
        $set: {
          status: 'redacted',
          publishableKey: null,
          name: null,
          email: null,
          currencyCode: null,
          planName: null,
          primaryDomain: null,
          metafieldsPending: false,
          redactedAt: shop.redactedAt ?? now,
        },
      },
    );
  }
  return documents;
}

/** What cancelling a shop's subscriptions at Shopify takes: the app's client, its sealed tokens, the billing calls. */
interface ShopAdmin {
  shopify: Shopify;
  sessions: MongoSessionStorage;
  api: BillingApi;
}

/** What the app did in a tenant's deletion: documents erased, by collection, and what the operator must know. */
export interface ShopTenantErasure {
  documents: Record<string, number>;
  /** Things left undone that the deletion could not do here (a Shopify subscription left active). */
  warnings: string[];
}

/**
 * The app's part in the platform's tenant deletion, on the server's connection: whether
 * or not the app is switched on in this process (the CLI deletes tenants without it), its
 * collections may hold the tenant's data.
 *
 * First, so that the merchant is not billed for a service that is gone, the shop's
 * subscriptions still active at Shopify are cancelled, with the shop's offline token,
 * before that token is erased. That needs the app's configuration (`config`, from the
 * environment, as the server and the CLI read it). Without it, or without a token, the
 * erasure goes on and says which subscriptions it left active. If Shopify cannot be
 * reached, or will not cancel, nothing is erased and the deletion fails: running it again
 * finishes it.
 */
export function shopTenantErasure(
  connection: Connection,
  config?: ShopifyConfig,
): (tenantId: string, now: Date) => Promise<ShopTenantErasure> {
  const models = createShopifyModels(connection);
  let admin: ShopAdmin | undefined;
  const adminApi = (settings: ShopifyConfig): ShopAdmin => {
    if (!admin) {
      const shopify = createShopifyClient(settings, settings.appUrl ?? 'http://127.0.0.1/shopify');
      const sessions = new MongoSessionStorage({ models, cipher: new TokenCipher(settings.tokenKey) });
      admin = { shopify, sessions, api: new BillingApi(shopify) };
    }
    return admin;
  };
  return async (tenantId, now) => {
    const warnings = await cancelSubscriptions(models, tenantId, config && adminApi(config));
    return { documents: await eraseShopTenant(models, tenantId, now), warnings };
  };
}

/** Cancels at Shopify the subscriptions of the tenant's shop; returns a warning for each it could not. */
async function cancelSubscriptions(models: ShopifyModels, tenantId: string, admin: ShopAdmin | undefined): Promise<string[]> {
  const shop = await models.Shop.findOne({ tenantId }).lean();
  // Uninstalled: Shopify cancelled the app's subscriptions itself. Redacted: erased already.
  if (shop?.status !== 'installed') return [];
  const recorded = await models.Subscription.find({ tenantId, status: 'ACTIVE' }).select({ _id: 1 }).lean();
  const leftActive = (why: string) =>
    recorded.map(
      ({ _id }) =>
        `Shopify subscription ${_id} of ${shop._id} was left active (${why}): the merchant is billed until they uninstall the app.`,
    );
  if (!admin) return leftActive('the Shopify app is not configured where the deletion ran');
  const session = await admin.sessions.loadSession(admin.shopify.session.getOfflineId(shop._id));
  if (!session?.accessToken) return leftActive('the app holds no access token for the shop');

  let active: { id: string }[];
  try {
    active = await admin.api.activeSubscriptions(session);
  } catch (error) {
    // A token Shopify refuses: the app was uninstalled (and its subscriptions with it).
    if (error instanceof HttpResponseError && (error as HttpResponseError).response.code === 401) return [];
    throw new Error(`could not read ${shop._id}'s subscriptions from Shopify (${(error as Error).message})`, { cause: error });
  }
  for (const subscription of active) {
    const result = await admin.api.cancelSubscription(session, subscription.id).catch((error: unknown) => {
      throw new Error(`could not cancel ${shop._id}'s subscription ${subscription.id} (${(error as Error).message})`, {
        cause: error,
      });
    });
    if (result.status !== 'CANCELLED') {
      const reasons = result.userErrors.map((userError) => userError.message).join('; ') || `status ${result.status}`;
      throw new Error(`Shopify did not cancel ${shop._id}'s subscription ${subscription.id}: ${reasons}`);
    }
    log.info({ shop: shop._id, tenantId, subscription: subscription.id }, "subscription cancelled: the shop's tenant is deleted");
  }
  return [];
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
