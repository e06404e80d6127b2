import { createKeySchema, idSchema, rotateKeySchema } from '@atelier/protocol/schemas';
import { callerKey } from '../auth.js';
import { endpoint, type Endpoint } from '../endpoint.js';
import { jsonObjectBody, listQuerySchema, noBody, noQuery, parse } from '../schemas.js';
import type { KeyService } from '../../services/key-service.js';

/** A tenant's own API keys (`/v1/keys`): list, create, rotate, revoke. Secrets are shown once. */
export function keyEndpoints(deps: { keys: KeyService }): Endpoint[] {
  const { keys } = deps;
  return [
    endpoint({
      method: 'get',
      path: '/v1/keys',
      auth: { secretKey: ['keys:read'] },
      input: (req) => parse(listQuerySchema, req.query),
      handle: async ({ limit, cursor }) => ({ body: await keys.list(limit, cursor) }),
    }),
    endpoint({
      method: 'post',
      path: '/v1/keys',
      auth: { secretKey: ['keys:write'] },
      input: (req, principal) => {
        noQuery(req.query);
        return { caller: callerKey(principal), spec: parse(createKeySchema, jsonObjectBody(req.body)) };
      },
      handle: async ({ caller, spec }) => ({ status: 201, body: await keys.create(caller, spec) }),
    }),
    endpoint({
      method: 'post',
      path: '/v1/keys/:id/rotate',
      auth: { secretKey: ['keys:write'] },
      input: (req, principal) => {
        noQuery(req.query);
        return {
          caller: callerKey(principal),
          id: parse(idSchema, req.params.id),
          rotation: parse(rotateKeySchema, jsonObjectBody(req.body)),
        };
      },
      handle: async ({ caller, id, rotation }) => ({ status: 201, body: await keys.rotate(caller, id, rotation) }),
    }),
    endpoint({
      method: 'delete',
      path: '/v1/keys/:id',
      auth: { secretKey: ['keys:write'] },
      input: (req, principal) => {
        noQuery(req.query);
        noBody(req.body);
        return { caller: callerKey(principal), id: parse(idSchema, req.params.id) };
      },
      handle: async ({ caller, id }) => ({ body: await keys.revoke(caller, id) }),
    }),
  ];
}
