import {
  createWebhookEndpointSchema,
  idSchema,
  rotateWebhookSecretSchema,
  updateWebhookEndpointSchema,
} from '@atelier/protocol/schemas';
import type { WebhookDeliveries } from '../../services/webhooks/webhook-deliveries.js';
import type { WebhookEndpoints } from '../../services/webhooks/webhook-endpoints.js';
import { endpoint, type Endpoint } from '../endpoint.js';
import { keyActor } from './config-routes.js';
import { jsonObjectBody, listQuerySchema, noBody, noQuery, parse } from '../schemas.js';

/**
 * A tenant's webhook endpoints (`/v1/webhook-endpoints`, secret key): register, list,
 * read, change, delete, rotate the signing secret; each endpoint's delivery log, and
 * redelivery. Delivery itself is services/webhooks/webhook-deliverer.ts.
 */
export function webhookEndpoints(deps: { endpoints: WebhookEndpoints; deliveries: WebhookDeliveries }): Endpoint[] {
  const { endpoints, deliveries } = deps;
  const id = (params: Record<string, unknown>) => parse(idSchema, params.id);
  return [
    endpoint({
      method: 'get',
      path: '/v1/webhook-endpoints',
      auth: { secretKey: ['webhooks:read'] },
      input: (req) => parse(listQuerySchema, req.query),
      handle: async ({ limit, cursor }) => ({ body: await endpoints.list(limit, cursor) }),
    }),
    endpoint({
      method: 'post',
      path: '/v1/webhook-endpoints',
      auth: { secretKey: ['webhooks:write'] },
      input: (req, principal) => {
        noQuery(req.query);
        return { input: parse(createWebhookEndpointSchema, jsonObjectBody(req.body)), actor: keyActor(principal) };
      },
      handle: async ({ input, actor }) => ({ status: 201, body: await endpoints.create(input, actor) }),
    }),
    endpoint({
      method: 'get',
      path: '/v1/webhook-endpoints/:id',
      auth: { secretKey: ['webhooks:read'] },
      input: (req) => {
        noQuery(req.query);
        return id(req.params);
      },
      handle: async (endpointId) => ({ body: await endpoints.get(endpointId) }),
    }),
    endpoint({
      method: 'patch',
      path: '/v1/webhook-endpoints/:id',
      auth: { secretKey: ['webhooks:write'] },
      input: (req, principal) => {
        noQuery(req.query);
        return {
          endpointId: id(req.params),
          changes: parse(updateWebhookEndpointSchema, jsonObjectBody(req.body)),
          actor: keyActor(principal),
        };
      },
      handle: async ({ endpointId, changes, actor }) => ({ body: await endpoints.update(endpointId, changes, actor) }),
    }),
    endpoint({
      method: 'delete',
      path: '/v1/webhook-endpoints/:id',
      auth: { secretKey: ['webhooks:write'] },
      input: (req, principal) => {
        noQuery(req.query);
        noBody(req.body);
        return { endpointId: id(req.params), actor: keyActor(principal) };
      },
      handle: async ({ endpointId, actor }) => ({ body: await endpoints.delete(endpointId, actor) }),
    }),
    endpoint({
      method: 'post',
      path: '/v1/webhook-endpoints/:id/rotate-secret',
      auth: { secretKey: ['webhooks:write'] },
      input: (req, principal) => {
        noQuery(req.query);
        return {
          endpointId: id(req.params),
          rotation: parse(rotateWebhookSecretSchema, jsonObjectBody(req.body)),
          actor: keyActor(principal),
        };
      },
      handle: async ({ endpointId, rotation, actor }) => ({
        status: 201,
        body: await endpoints.rotateSecret(endpointId, rotation.graceSeconds, actor),
      }),
    }),
    endpoint({
      method: 'get',
      path: '/v1/webhook-endpoints/:id/deliveries',
      auth: { secretKey: ['webhooks:read'] },
      input: (req) => ({ endpointId: id(req.params), ...parse(listQuerySchema, req.query) }),
      handle: async ({ endpointId, limit, cursor }) => ({ body: await deliveries.list(endpointId, limit, cursor) }),
    }),
    endpoint({
      method: 'post',
      path: '/v1/webhook-endpoints/:id/deliveries/:deliveryId/redeliver',
      auth: { secretKey: ['webhooks:write'] },
      input: (req) => {
        noQuery(req.query);
        noBody(req.body);
        return { endpointId: id(req.params), deliveryId: parse(idSchema, req.params.deliveryId) };
      },
      handle: async ({ endpointId, deliveryId }) => ({
        status: 202,
        body: await deliveries.redeliver(endpointId, deliveryId),
      }),
    }),
  ];
}
