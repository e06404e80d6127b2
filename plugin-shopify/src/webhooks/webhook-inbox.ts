import mongoose from 'mongoose';
import { createLogger } from '@atelier/runtime';
import { DrainLoop } from '../drain-loop.js';
import type { WebhookEventRecord } from '../models/webhook-event.model.js';
import type { WebhookHandlerDeps } from './handler.js';
import { WEBHOOK_HANDLERS } from './topics.js';

const log = createLogger('shopify-webhooks');

/** A failing event is tried this many times, then left `failed` for an operator. */
const MAX_ATTEMPTS = 5;
const BATCH = 50;

/**
 * Webhooks are acknowledged as soon as they are written down, and worked off here:
 * right after they arrive, at start-up (what a crash left pending) and every
 * `retryMs` (what failed). One drain at a time per process; another process draining
 * the same event does no harm, since every handler is idempotent.
 */
export class WebhookInbox {
  private readonly loop: DrainLoop;

  constructor(private readonly deps: WebhookHandlerDeps & { retryMs: number }) {
    this.loop = new DrainLoop(() => this.drain(), { retryMs: deps.retryMs, log, what: 'webhook drain' });
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

  private async drain(): Promise<void> {
    const { WebhookEvent } = this.deps.models;
    for (;;) {
      const events = await WebhookEvent.find({ status: 'pending', attempts: mongoose.trusted({ $lt: MAX_ATTEMPTS }) })
        .sort({ receivedAt: 1 })
        .limit(BATCH)
        .lean();
      if (events.length === 0 || this.loop.stopped) return;
      for (const event of events) await this.process(event);
      if (events.length < BATCH) return;
    }
  }

  private async process(event: WebhookEventRecord): Promise<void> {
    const { WebhookEvent } = this.deps.models;
    const handler = WEBHOOK_HANDLERS[event.topic];
    try {
      const outcome = handler
        ? await handler(
            {
              eventId: event._id,
              topic: event.topic,
              shop: event.shop,
              triggeredAt: event.triggeredAt,
              payload: (event.payload ?? {}) as Record<string, unknown>,
            },
            this.deps,
          )
        : 'no handler for the topic';
      await WebhookEvent.updateOne(
        { _id: event._id },
        { $set: { status: 'done', outcome, payload: null, processedAt: this.deps.now() }, $inc: { attempts: 1 } },
      );
      log.info({ eventId: event._id, topic: event.topic, shop: event.shop, outcome }, 'webhook processed');
    } catch (error) {
      const attempts = event.attempts + 1;
      await WebhookEvent.updateOne(
        { _id: event._id },
        { $set: { attempts, status: attempts >= MAX_ATTEMPTS ? 'failed' : 'pending', outcome: (error as Error).message } },
      );
      log.warn({ err: error, eventId: event._id, topic: event.topic, attempts }, 'webhook processing failed');
    }
  }
}
