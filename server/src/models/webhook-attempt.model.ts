import { Schema, type Connection, type Model } from 'mongoose';
import { WEBHOOK_DELIVERY_STATUSES, type WebhookDeliveryStatus } from '@atelier/protocol';
import { tenantPlugin } from '../tenancy/tenant-plugin.js';

/**
 * Attempt n of a delivery: `_id` is `<messageId>:<n>`. Inserting it is the claim (of any
 * number of server processes, one insert wins), so each attempt is sent at most once;
 * afterwards only its claimant writes it, with what happened and what the delivery's
 * state becomes (`next`), so that if the claimant dies before writing the delivery,
 * another process can apply `next` for it.
 */
export interface WebhookAttempt {
  _id: string;
  tenantId: string;
  messageId: string;
  endpointId: string;
  attempt: number;
  serverId: string;
  claimedAt: Date;
  /** Null while in flight. */
  finishedAt: Date | null;
  /** Set when the attempt was not made (the endpoint was disabled or deleted meanwhile): not shown in the log. */
  skipped: boolean;
  statusCode: number | null;
  durationMs: number;
  error: string | null;
  responseExcerpt: string;
  next: { status: WebhookDeliveryStatus; nextAttemptAt: Date | null; error: string | null } | null;
}

const webhookAttemptSchema = new Schema<WebhookAttempt>(
  {
    _id: { type: String, required: true },
    messageId: { type: String, required: true },
    endpointId: { type: String, required: true },
    attempt: { type: Number, required: true },
    serverId: { type: String, required: true },
    claimedAt: { type: Date, required: true },
    finishedAt: { type: Date, default: null },
    skipped: { type: Boolean, default: false },
    statusCode: { type: Number, default: null },
    durationMs: { type: Number, default: 0 },
    error: { type: String, default: null },
    responseExcerpt: { type: String, default: '' },
    next: {
      type: new Schema(
        {
          status: { type: String, enum: WEBHOOK_DELIVERY_STATUSES, required: true },
          nextAttemptAt: { type: Date, default: null },
          error: { type: String, default: null },
        },
        { _id: false },
      ),
      default: null,
    },
  },
  { collection: 'webhook_attempts', versionKey: false },
);
webhookAttemptSchema.plugin(tenantPlugin);
webhookAttemptSchema.index({ tenantId: 1, messageId: 1, attempt: 1 });

export function webhookAttemptModel(connection: Connection): Model<WebhookAttempt> {
  return connection.model<WebhookAttempt>('WebhookAttempt', webhookAttemptSchema);
}

export function webhookAttemptId(messageId: string, attempt: number): string {
  return `${messageId}:${attempt}`;
}
