/**
 * Webhooks to tenants (`/v1/webhook-endpoints`), delivered as the Standard Webhooks
 * specification says (https://www.standardwebhooks.com): every request carries
 * `webhook-id`, `webhook-timestamp` and `webhook-signature`, the last one
 * `v1,<base64 HMAC-SHA256>` over `<id>.<timestamp>.<body>` keyed with the
 * base64-decoded part of the endpoint's `whsec_…` secret. During a secret rotation
 * the old secret signs too, so the header holds several signatures separated by spaces.
 */
import type { GenerationBody } from './rest.js';
import type { PublicImage } from './generation.js';

/**
 * The events a tenant can subscribe an endpoint to: one per way a generation ends
 * (its terminal `JobStatus`: `succeeded`, `failed`, `canceled`, `expired`).
 */
export const WEBHOOK_EVENT_TYPES = [
  'generation.completed',
  'generation.failed',
  'generation.canceled',
  'generation.expired',
] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

/** The Standard Webhooks request headers. */
export const WEBHOOK_HEADERS = {
  id: 'webhook-id',
  timestamp: 'webhook-timestamp',
  signature: 'webhook-signature',
} as const;

/** A webhook secret: `whsec_` + base64 of 32 random bytes (CONTRACT.md, "Keys and tokens"). */
export const WEBHOOK_SECRET_PREFIX = 'whsec_';

/** The most endpoints one tenant may register. */
export const MAX_WEBHOOK_ENDPOINTS = 20;

/**
 * An image in a webhook's payload. Signed image URLs expire within minutes, long before
 * a retried delivery may arrive, so the payload names the image and the consumer asks
 * `GET /v1/generations/:id` for fresh URLs.
 */
export type WebhookImage = Omit<PublicImage, 'url'>;

/** `data` of every `generation.*` event: the generation's REST shape, images without URLs. */
export type WebhookGenerationData = Omit<GenerationBody, 'queue' | 'images'> & {
  images: WebhookImage[];
  finishedAt: string | null;
};

/** The JSON body of every delivery; every attempt of one delivery sends the same bytes. */
export interface WebhookPayload {
  type: WebhookEventType;
  /** When the event happened (ISO 8601). */
  timestamp: string;
  data: WebhookGenerationData;
}

/** Why an endpoint is disabled: by its tenant, or because it answered `410 Gone`. */
export type WebhookDisabledReason = 'disabled_by_tenant' | 'gone';

/** `GET /v1/webhook-endpoints/:id`, and each item of the list. The secret is never shown here. */
export interface WebhookEndpointBody {
  id: string;
  url: string;
  description: string;
  events: WebhookEventType[];
  enabled: boolean;
  disabledReason: WebhookDisabledReason | null;
  createdAt: string;
  updatedAt: string;
}

export interface WebhookEndpointListBody {
  data: WebhookEndpointBody[];
  nextCursor: string | null;
}

/** `POST /v1/webhook-endpoints` and `POST …/:id/rotate-secret`: the new secret, shown this once. */
export interface CreatedWebhookEndpointBody extends WebhookEndpointBody {
  secret: string;
}

export interface RotatedWebhookSecretBody {
  secret: string;
  /** Until when the previous secret keeps signing (its signature is sent beside the new one). */
  previousSecretExpiresAt: string;
}

export const WEBHOOK_DELIVERY_STATUSES = ['pending', 'delivered', 'failed'] as const;
export type WebhookDeliveryStatus = (typeof WEBHOOK_DELIVERY_STATUSES)[number];

/** One try of a delivery, as the delivery log shows it. */
export interface WebhookAttemptBody {
  /** 1 for the first try; a redelivery continues the count. */
  attempt: number;
  at: string;
  /** The receiver's HTTP status; null when no answer came (refused, unreachable, timed out). */
  statusCode: number | null;
  durationMs: number;
  /** Why it did not count as delivered; null when it did (2xx). */
  error: string | null;
  /** The first bytes of the receiver's answer. */
  responseExcerpt: string;
}

/** One event for one endpoint (`webhook-id` is its `id`), with its attempts. */
export interface WebhookDeliveryBody {
  id: string;
  endpointId: string;
  eventType: WebhookEventType;
  /** The generation the event is about. */
  generationId: string;
  status: WebhookDeliveryStatus;
  createdAt: string;
  /** When the next attempt is due; null once delivered or failed for good. */
  nextAttemptAt: string | null;
  attempts: WebhookAttemptBody[];
  /** Why it ended without (another) attempt, e.g. its endpoint was disabled; null otherwise. */
  error: string | null;
}

export interface WebhookDeliveryListBody {
  data: WebhookDeliveryBody[];
  nextCursor: string | null;
}
