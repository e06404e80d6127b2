import type { IncomingMessage, ServerResponse } from 'node:http';
import express, { Router } from 'express';
import type { Shopify } from '@shopify/shopify-api';
import { createLogger } from '@atelier/runtime';
import type { ShopifyModels } from '../models/index.js';
import { sendProblem } from '../problem.js';
import { shopDomain } from '../shop-domain.js';
import { payloadShop, WEBHOOK_HANDLERS } from '../webhooks/topics.js';
import type { WebhookInbox } from '../webhooks/webhook-inbox.js';

const log = createLogger('shopify-webhooks');

export const WEBHOOK_PATH = '/shopify/webhooks';

/**
 * Every subscribed topic arrives here. The HMAC (base64 HMAC-SHA256 of the raw body
 * with the app secret, compared in constant time by the library) is checked before
 * anything else: 401 and nothing written when it fails. A valid event is written down
 * (its id unique, so a redelivery is a no-op) and acknowledged; the work runs after
 * the answer, in the inbox.
 */
export function webhookRoutes(deps: { shopify: Shopify; models: ShopifyModels; inbox: WebhookInbox; now: () => Date }): Router {
  const router = Router();

  router.post(WEBHOOK_PATH, express.raw({ type: () => true, limit: '1mb' }), async (req, res) => {
    const rawBody = Buffer.isBuffer(req.body) ? req.body.toString('utf8') : '';
    const check = await deps.shopify.webhooks.validate({
      rawBody,
      rawRequest: req as IncomingMessage,
      rawResponse: res as ServerResponse,
    });
    if (!check.valid) {
      log.info({ reason: check.reason }, 'webhook refused');
      return sendProblem(res, 'unauthorized', `The webhook is not valid (${check.reason}).`);
    }
    const topic = req.get('x-shopify-topic') ?? '';
    const shop = shopDomain(check.domain);
    let payload: unknown;
    try {
      payload = JSON.parse(rawBody);
    } catch {
      return sendProblem(res, 'invalid_request', 'The webhook body is not JSON.');
    }
    if (!shop || typeof payload !== 'object' || payload === null || Array.isArray(payload)) {
      return sendProblem(res, 'invalid_request', 'The webhook names no shop, or its body is not an object.');
    }
    if (!(topic in WEBHOOK_HANDLERS)) return sendProblem(res, 'invalid_request', `The app does not subscribe to ${topic}.`);
    if (payloadShop(topic, payload as Record<string, unknown>, shop) !== shop) {
      return sendProblem(res, 'invalid_request', 'The webhook body is about another shop than its X-Shopify-Shop-Domain.');
    }
    const triggeredAt = check.triggeredAt ? new Date(check.triggeredAt) : null;
    try {
      await deps.models.WebhookEvent.create({
        _id: check.eventId ?? check.webhookId,
        webhookId: check.webhookId,
        topic,
        shop,
        apiVersion: check.apiVersion,
        triggeredAt: triggeredAt && !Number.isNaN(triggeredAt.getTime()) ? triggeredAt : null,
        payload,
        receivedAt: deps.now(),
      });
    } catch (error) {
      if ((error as { code?: number }).code !== 11000) throw error;
      log.info({ eventId: check.eventId ?? check.webhookId, topic, shop }, 'webhook delivered again');
      return res.status(200).json({ received: true, duplicate: true });
    }
    res.status(200).json({ received: true });
    void deps.inbox.kick();
  });

  return router;
}
