import { createShopperSessionSchema } from '@atelier/protocol/schemas';
import { endpoint, type Endpoint } from '../endpoint.js';
import { jsonObjectBody, noBody, noQuery, parse } from '../schemas.js';
import type { ShopperSessions } from '../../services/shopper-sessions.js';
import { requireTenantId } from '../../tenancy/tenant-context.js';

/**
 * Shopper sessions: a tenant's backend mints one per shopper (`POST /v1/sessions`) and
 * puts it on the widget (`session-token`); the operator can rotate the signing key.
 */
export function sessionEndpoints(deps: { sessions: ShopperSessions }): Endpoint[] {
  const { sessions } = deps;
  return [
    endpoint({
      method: 'post',
      path: '/v1/sessions',
      auth: { secretKey: ['sessions:write'] },
      input: (req) => {
        noQuery(req.query);
        return parse(createShopperSessionSchema, jsonObjectBody(req.body));
      },
      // The tenant is the one the secret key named (the request runs in its scope).
      handle: async (spec) => ({ status: 201, body: await sessions.mint(requireTenantId(), spec) }),
    }),
    endpoint({
      method: 'post',
      path: '/admin/v1/session-keys/rotate',
      auth: 'admin',
      input: (req) => {
        noQuery(req.query);
        noBody(req.body);
      },
      handle: async () => ({ status: 201, body: await sessions.rotateSigningKey({ kind: 'admin' }) }),
    }),
  ];
}
