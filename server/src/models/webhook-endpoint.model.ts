import { Schema, type Connection, type Model } from 'mongoose';
import { WEBHOOK_EVENT_TYPES, type WebhookDisabledReason, type WebhookEventType } from '@atelier/protocol';
import { tenantPlugin } from '../tenancy/tenant-plugin.js';

/**
 * A URL a tenant asked to receive events at. Its signing secrets are documents of their
 * own (`webhook_secrets`), each inserted once and never changed, so that two rotations
 * racing on FerretDB (which has no atomic conditional update) cannot lose a secret that
 * one of them already handed out.
 *
 * The endpoint itself is written by its tenant's API calls and by a delivery that meets
 * `410 Gone` (`enabled: false`). FerretDB applies both as read-modify-write, so a
 * disable landing in the same instant as a PATCH can undo one of them; the next 410
 * disables it again, and a tenant sees their change in the PATCH answer and the next GET.
 */
export interface WebhookEndpoint {
  _id: string;
  tenantId: string;
  url: string;
  description: string;
  events: WebhookEventType[];
  enabled: boolean;
  disabledReason: WebhookDisabledReason | null;
  disabledAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

const webhookEndpointSchema = new Schema<WebhookEndpoint>(
  {
    _id: { type: String, required: true },
    url: { type: String, required: true },
    description: { type: String, default: '' },
    events: { type: [{ type: String, enum: WEBHOOK_EVENT_TYPES }], required: true },
    enabled: { type: Boolean, required: true },
    disabledReason: { type: String, enum: ['disabled_by_tenant', 'gone', null], default: null },
    disabledAt: { type: Date, default: null },
  },
  { collection: 'webhook_endpoints', versionKey: false, timestamps: true },
);
webhookEndpointSchema.plugin(tenantPlugin);
webhookEndpointSchema.index({ tenantId: 1, createdAt: -1 });

export function webhookEndpointModel(connection: Connection): Model<WebhookEndpoint> {
  return connection.model<WebhookEndpoint>('WebhookEndpoint', webhookEndpointSchema);
}
