import mongoose from 'mongoose';
import type { Shopify } from '@shopify/shopify-api';
import { createLogger } from '@atelier/runtime';
import { DrainLoop } from '../drain-loop.js';
import type { ShopifyModels } from '../models/index.js';
import type { UsageChargeRecord } from '../models/usage-charge.model.js';
import type { TenantBilling } from '../ports.js';
import type { MongoSessionStorage } from '../session-storage.js';
import type { BillingApi } from './billing-api.js';

const log = createLogger('shopify-billing');

/** A charge Shopify keeps refusing is tried this many times, then left `failed` for an operator. */
const MAX_ATTEMPTS = 8;
const BATCH = 50;
const CLAIM_SLOT_MS = 60_000;

export interface UsageOutboxDeps {
  shopify: Shopify;
  models: ShopifyModels;
  sessions: MongoSessionStorage;
  billing: TenantBilling;
  api: BillingApi;
  now: () => Date;
  retryMs: number;
}

/**
 * The outbox of usage records. A charge is written (claimed within the cap) before
 * its credits are added and before Shopify hears of it, so a crash at any point leaves
 * a pending charge that is worked off here — right after it is claimed, at start-up and
 * every `retryMs`: its credits added to the ledger (once: the grant is keyed by the
 * charge) and `appUsageRecordCreate` sent with the ledger entry's id as the idempotency
 * key, so however often a send is repeated Shopify records one usage record per entry.
 */
export class UsageOutbox {
  private readonly loop: DrainLoop;

  constructor(private readonly deps: UsageOutboxDeps) {
    this.loop = new DrainLoop(() => this.drain(), { retryMs: deps.retryMs, log, what: 'usage outbox drain' });
  }

  start(): void {
    this.loop.start();
  }

  stop(): Promise<void> {
    return this.loop.stop();
  }

  /** Works off pending work soon; returns when this drain (or the one it joined) is done. */
  kick(): Promise<void> {
    return this.loop.kick();
  }

  /** The charge's credits in the tenant's ledger (once, keyed by the charge); the entry's id. */
  async grant(charge: UsageChargeRecord): Promise<string> {
    if (charge.entryId) return charge.entryId;
    const { entryId } = await this.deps.billing.addCredits(charge.tenantId, {
      amount: charge.credits,
      key: `shopify-usage:${charge._id}`,
      reason: `Shopify usage charge: ${charge.credits} credit(s) beyond the plan`,
    });
    await this.deps.models.UsageCharge.updateOne({ _id: charge._id }, { $set: { entryId } });
    return entryId;
  }

  private async drain(): Promise<void> {
    const { UsageCharge } = this.deps.models;
    for (;;) {
      const charges = await UsageCharge.find({ status: 'pending', attempts: mongoose.trusted({ $lt: MAX_ATTEMPTS }) })
        .sort({ createdAt: 1 })
        .limit(BATCH)
        .lean();
      if (charges.length === 0 || this.loop.stopped) return;
      for (const charge of charges) await this.send(charge);
      if (charges.length < BATCH) return;
    }
  }

  private async send(charge: UsageChargeRecord): Promise<void> {
    const { models, now } = this.deps;
    const at = now();
    try {
      await models.UsageSendClaim.create({
        _id: `${charge._id}:${charge.attempts}:${Math.floor(at.getTime() / CLAIM_SLOT_MS)}`,
        at,
      });
    } catch (error) {
      if ((error as { code?: number }).code === 11000) return; // another process is sending it
      throw error;
    }
    try {
      const entryId = await this.grant(charge);
      const subscription = await models.Subscription.findById(charge.subscriptionId).lean();
      if (!subscription) throw new Error(`subscription ${charge.subscriptionId} is not known`);
      const session = await this.deps.sessions.loadSession(this.deps.shopify.session.getOfflineId(charge.shop));
      if (!session?.accessToken) throw new Error('the shop has no offline session (uninstalled)');
      const result = await this.deps.api.createUsageRecord(session, {
        lineItemId: subscription.usageLineItemId,
        cents: charge.cents,
        description: `${charge.credits} Atelier credit(s) beyond the plan (job ${charge.jobId})`,
        idempotencyKey: entryId,
      });
      if (!result.id) throw new Error(result.userErrors.map((e) => e.message).join('; ') || 'no usage record returned');
      await models.UsageCharge.updateOne(
        { _id: charge._id },
        { $set: { status: 'sent', usageRecordId: result.id, sentAt: now(), error: null }, $inc: { attempts: 1 } },
      );
      log.info({ shop: charge.shop, charge: charge._id, entryId, cents: charge.cents }, 'usage record created');
    } catch (error) {
      const attempts = charge.attempts + 1;
      await models.UsageCharge.updateOne(
        { _id: charge._id },
        { $set: { attempts, status: attempts >= MAX_ATTEMPTS ? 'failed' : 'pending', error: (error as Error).message } },
      );
      log.warn({ err: error, shop: charge.shop, charge: charge._id, attempts }, 'usage record not created');
    }
  }
}
