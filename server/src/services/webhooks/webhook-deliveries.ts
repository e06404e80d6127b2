import mongoose from 'mongoose';
import type { WebhookAttemptBody, WebhookDeliveryBody, WebhookDeliveryListBody } from '@atelier/protocol';
import { conflict, invalidRequest, notFound } from '../../errors/app-error.js';
import { createLogger } from '../../logging/logger.js';
import type { Models } from '../../models/index.js';
import type { WebhookAttempt } from '../../models/webhook-attempt.model.js';
import type { WebhookMessage } from '../../models/webhook-message.model.js';
import { findOwnById } from '../../tenancy/find-own-by-id.js';
import { requireTenantId } from '../../tenancy/tenant-context.js';
import type { WebhookEndpoints } from './webhook-endpoints.js';

const log = createLogger('webhook-deliveries');

export interface WebhookDeliveriesDeps {
  models: Models;
  endpoints: Pick<WebhookEndpoints, 'find'>;
  /** Tells this process's deliverer that a delivery is due. */
  wake(): void;
  now?: () => Date;
}

/** An endpoint's delivery log and redelivery (tenant scope). */
export class WebhookDeliveries {
  constructor(private readonly deps: WebhookDeliveriesDeps) {}

  /** Newest first, each with its attempts. */
  async list(endpointId: string, limit: number, cursor?: string): Promise<WebhookDeliveryListBody> {
    const { WebhookMessage: Messages } = this.deps.models;
    await this.deps.endpoints.find(endpointId);
    let filter: Record<string, unknown> = { endpointId };
    if (cursor) {
      const after = await findOwnById(Messages, cursor);
      if (after?.endpointId !== endpointId) throw invalidRequest('cursor does not name a delivery of this endpoint');
      filter = {
        endpointId,
        $or: [
          { createdAt: mongoose.trusted({ $lt: after.createdAt }) },
          { createdAt: after.createdAt, _id: mongoose.trusted({ $lt: after._id }) },
        ],
      };
    }
    const page = await Messages.find(filter)
      .sort({ createdAt: -1, _id: -1 })
      .limit(limit + 1)
      .lean();
    const shown = page.slice(0, limit);
    const attempts = await this.deps.models.WebhookAttempt.find({
      messageId: mongoose.trusted({ $in: shown.map((message) => message._id) }),
    }).lean();
    const data = shown.map((message) => present(message, attempts));
    return { data, nextCursor: page.length > limit ? (data.at(-1)?.id ?? null) : null };
  }

  async get(endpointId: string, deliveryId: string): Promise<WebhookDeliveryBody> {
    const message = await this.find(endpointId, deliveryId);
    const attempts = await this.deps.models.WebhookAttempt.find({ messageId: deliveryId }).lean();
    return present(message, attempts);
  }

  /**
   * Sends the delivery once more, now, with the same `webhook-id` and body (a receiver
   * that already has it can tell). One attempt: if it fails, the delivery ends failed again.
   */
  async redeliver(endpointId: string, deliveryId: string): Promise<WebhookDeliveryBody> {
    const endpoint = await this.deps.endpoints.find(endpointId);
    const message = await this.find(endpointId, deliveryId);
    if (!endpoint.enabled) throw conflict('The endpoint is disabled; enable it (PATCH enabled: true) before redelivering.');
    if (message.status === 'pending') throw conflict('That delivery is already due to be attempted.');
    const set = { status: 'pending' as const, nextAttemptAt: this.now(), lastAttempt: message.attempts + 1, error: null };
    await this.deps.models.WebhookMessage.updateOne({ _id: deliveryId, attempts: message.attempts }, { $set: set });
    log.info({ tenantId: requireTenantId(), endpointId, deliveryId }, 'webhook redelivery asked for');
    this.deps.wake();
    return this.get(endpointId, deliveryId);
  }

  private async find(endpointId: string, deliveryId: string): Promise<WebhookMessage> {
    const message = await findOwnById(this.deps.models.WebhookMessage, deliveryId);
    if (message?.endpointId !== endpointId) throw notFound('That webhook delivery');
    return message;
  }

  private now(): Date {
    return (this.deps.now ?? (() => new Date()))();
  }
}

function present(message: WebhookMessage, attempts: WebhookAttempt[]): WebhookDeliveryBody {
  return {
    id: message._id,
    endpointId: message.endpointId,
    eventType: message.eventType,
    generationId: message.generationId,
    status: message.status,
    createdAt: message.createdAt.toISOString(),
    nextAttemptAt: message.status === 'pending' ? (message.nextAttemptAt?.toISOString() ?? null) : null,
    attempts: attempts
      .filter((attempt) => attempt.messageId === message._id && !attempt.skipped)
      .sort((a, b) => a.attempt - b.attempt)
      .map((attempt): WebhookAttemptBody => ({
        attempt: attempt.attempt,
        at: attempt.claimedAt.toISOString(),
        statusCode: attempt.statusCode,
        durationMs: attempt.durationMs,
        error: attempt.finishedAt ? attempt.error : 'in progress',
        responseExcerpt: attempt.responseExcerpt,
      })),
    error: message.error,
  };
}
