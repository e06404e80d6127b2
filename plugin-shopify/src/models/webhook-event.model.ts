import { Schema, type Connection, type Model } from 'mongoose';

export const WEBHOOK_EVENT_STATUSES = ['pending', 'done', 'failed'] as const;
export type WebhookEventStatus = (typeof WEBHOOK_EVENT_STATUSES)[number];

/**
 * A webhook Shopify delivered, written before it is acknowledged. `_id` is Shopify's
 * event id (`X-Shopify-Event-Id`; the webhook id when absent), so a redelivery of the
 * same event is refused by the unique index and processed once. The payload is
 * dropped once the event is processed (compliance payloads name customers).
 */
export interface WebhookEventRecord {
  _id: string;
  webhookId: string;
  topic: string;
  shop: string;
  apiVersion: string;
  triggeredAt: Date | null;
  payload: unknown;
  status: WebhookEventStatus;
  attempts: number;
  /** What processing found, for operators (counts, never personal data). */
  outcome: string | null;
  receivedAt: Date;
  processedAt: Date | null;
}

const webhookEventSchema = new Schema<WebhookEventRecord>(
  {
    _id: { type: String, required: true },
    webhookId: { type: String, required: true },
    topic: { type: String, required: true },
    shop: { type: String, required: true },
    apiVersion: { type: String, required: true },
    triggeredAt: { type: Date, default: null },
    payload: { type: Schema.Types.Mixed, default: null },
    status: { type: String, enum: WEBHOOK_EVENT_STATUSES, default: 'pending' },
    attempts: { type: Number, default: 0 },
    outcome: { type: String, default: null },
    receivedAt: { type: Date, required: true },
    processedAt: { type: Date, default: null },
  },
  { collection: 'shopify_webhook_events', minimize: false },
);
webhookEventSchema.index({ status: 1, receivedAt: 1 });
webhookEventSchema.index({ shop: 1 });

export function webhookEventModel(connection: Connection): Model<WebhookEventRecord> {
  return connection.model<WebhookEventRecord>('ShopifyWebhookEvent', webhookEventSchema);
}
