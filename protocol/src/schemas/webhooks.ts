import { z } from 'zod';
import { WEBHOOK_EVENT_TYPES } from '../webhooks.js';
import { ROTATION_MAX_GRACE_SECONDS } from './credentials.js';

/** The longest URL an endpoint may have. */
export const WEBHOOK_URL_MAX_LENGTH = 2048;
/** How long the previous secret keeps signing after a rotation unless the request says otherwise: a day. */
export const WEBHOOK_ROTATION_DEFAULT_GRACE_SECONDS = 24 * 60 * 60;

/**
 * An endpoint's URL as written: http or https, a host, no user name or password. Where
 * the host points (a private or loopback address is refused) is the server's to check,
 * since that needs a DNS lookup.
 */
const webhookUrl = z
  .string({ error: 'url must be a string' })
  .max(WEBHOOK_URL_MAX_LENGTH, `url must be at most ${WEBHOOK_URL_MAX_LENGTH} characters`)
  .superRefine((value, ctx) => {
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      ctx.addIssue({ code: 'custom', message: 'url must be an absolute URL, e.g. https://example.com/atelier-webhooks' });
      return;
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') {
      ctx.addIssue({ code: 'custom', message: `url must use https (or http), not ${url.protocol.slice(0, -1)}` });
    }
    if (url.username || url.password) ctx.addIssue({ code: 'custom', message: 'url must not carry a user name or password' });
    if (url.hash) ctx.addIssue({ code: 'custom', message: 'url must not have a #fragment' });
  });

const eventList = z
  .array(z.enum(WEBHOOK_EVENT_TYPES, { error: `each event must be one of ${WEBHOOK_EVENT_TYPES.join(', ')}` }), {
    error: 'events must be a list of event types',
  })
  .min(1, 'events must name at least one event type')
  .max(WEBHOOK_EVENT_TYPES.length * 2)
  .transform((events) => [...new Set(events)]);

const description = z
  .string({ error: 'description must be a string' })
  .trim()
  .max(500, 'description must be at most 500 characters');

/** `POST /v1/webhook-endpoints`. */
export const createWebhookEndpointSchema = z
  .object({
    url: webhookUrl,
    events: eventList,
    description: description.default(''),
  })
  .strict();
export type CreateWebhookEndpointInput = z.infer<typeof createWebhookEndpointSchema>;

/** `PATCH /v1/webhook-endpoints/:id`: what to change; enabling an endpoint that answered 410 is the tenant's call. */
export const updateWebhookEndpointSchema = z
  .object({
    url: webhookUrl.optional(),
    events: eventList.optional(),
    description: description.optional(),
    enabled: z.boolean({ error: 'enabled must be true or false' }).optional(),
  })
  .strict()
  .refine((changes) => Object.keys(changes).length > 0, 'name at least one of url, events, description, enabled');
export type UpdateWebhookEndpointInput = z.infer<typeof updateWebhookEndpointSchema>;

/** `POST /v1/webhook-endpoints/:id/rotate-secret`: how long the old secret keeps signing (0 = stops now). */
export const rotateWebhookSecretSchema = z
  .object({
    graceSeconds: z
      .number({ error: 'graceSeconds must be a number' })
      .int('graceSeconds must be a whole number')
      .min(0, 'graceSeconds must be at least 0')
      .max(ROTATION_MAX_GRACE_SECONDS, `graceSeconds must be at most ${ROTATION_MAX_GRACE_SECONDS} (7 days)`)
      .default(WEBHOOK_ROTATION_DEFAULT_GRACE_SECONDS),
  })
  .strict();
