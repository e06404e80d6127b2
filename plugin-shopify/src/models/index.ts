import type { Connection } from 'mongoose';
import { oauthStateModel, oauthStateUseModel } from './oauth-state.model.js';
import { sessionModel } from './session.model.js';
import { shopModel } from './shop.model.js';
import { shopResultModel } from './shop-result.model.js';
import { webhookEventModel } from './webhook-event.model.js';
import { subscriptionModel } from './subscription.model.js';
import { usageChargeModel, usageSendClaimModel } from './usage-charge.model.js';
import { dataExportModel } from './data-export.model.js';

export type ShopifyModels = ReturnType<typeof createShopifyModels>;

/** The app's collections, on the server's connection; platform-owned (keyed by shop). */
export function createShopifyModels(connection: Connection) {
  return {
    Shop: shopModel(connection),
    Session: sessionModel(connection),
    OAuthState: oauthStateModel(connection),
    OAuthStateUse: oauthStateUseModel(connection),
    WebhookEvent: webhookEventModel(connection),
    Subscription: subscriptionModel(connection),
    UsageCharge: usageChargeModel(connection),
    UsageSendClaim: usageSendClaimModel(connection),
    DataExport: dataExportModel(connection),
    Result: shopResultModel(connection),
  };
}
