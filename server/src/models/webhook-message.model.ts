import { Schema, type Connection, type Model } from 'mongoose';
import {
  WEBHOOK_DELIVERY_STATUSES,
  WEBHOOK_EVENT_TYPES,
  type WebhookDeliveryStatus,
  type WebhookEventType,
} from '@atelier/protocol';
import { tenantPlugin } from '../tenancy/tenant-plugin.js';

/**
 * The outbox: one event for one endpoint (a "delivery"; its `_id` is the `webhook-id`
 * header). The `_id` derives from the endpoint, the generation and the event type, so
 * emitting an event twice (a retried emission, the repair sweep) inserts it once.
 *
 * Its state (`attempts`, `status`, `nextAttemptAt`) is written by whoever holds the
 * claim of its latest attempt (`webhook_attempts`, `_id: "<id>:<n>"`, an insert under
 * the unique `_id`), so one writer at a time; a redelivery asked for over the API
 * writes it only while no attempt is due.
 */
export interface WebhookMessage {
  _id: string;
  tenantId: string;
  endpointId: string;
  eventType: WebhookEventType;
  generationId: string;
  /** The JSON body, frozen at emission: every attempt sends the same bytes. */
  payload: string;
  status: WebhookDeliveryStatus;
  /** Attempts made so far. */
  attempts: number;
  /** The last attempt this round may make: the schedule's length + 1, or one more after a redelivery. */
  lastAttempt: number;
  nextAttemptAt: Date | null;
  /** Why it ended without another attempt (its endpoint disabled or deleted); null otherwise. */
  error: string | null;
  createdAt: Date;
  updatedAt: Date;
}

const webhookMessageSchema = new Schema<WebhookMessage>(
  {
    _id: { type: String, required: true },
    endpointId: { type: String, required: true },
    eventType: { type: String, enum: WEBHOOK_EVENT_TYPES, required: true },
    generationId: { type: String, required: true },
    payload: { type: String, required: true },
    status: { type: String, enum: WEBHOOK_DELIVERY_STATUSES, required: true },
    attempts: { type: Number, required: true },
    lastAttempt: { type: Number, required: true },
    nextAttemptAt: { type: Date, default: null },
    error: { type: String, default: null },
  },
  { collection: 'webhook_messages', versionKey: false, timestamps: true },
);
webhookMessageSchema.plugin(tenantPlugin);
webhookMessageSchema.index({ status: 1, nextAttemptAt: 1 });
webhookMessageSchema.index({ tenantId: 1, endpointId: 1, createdAt: -1 });

export function webhookMessageModel(connection: Connection): Model<WebhookMessage> {
  return connection.model<WebhookMessage>('WebhookMessage', webhookMessageSchema);
}
