import type { AuditActor } from '../../models/audit-event.model.js';
import type { TenantConfigService } from '../../services/tenant-config.js';
import { callerKey, type Principal } from '../auth.js';
import { endpoint, type Endpoint } from '../endpoint.js';
import { jsonObjectBody, noQuery } from '../schemas.js';

/**
 * `GET/PUT /v1/config` (secret key). PUT takes a JSON merge patch (RFC 7396): the
 * service validates the merged result, so the body is only checked to be an object here.
 */
export function configEndpoints(deps: { configs: TenantConfigService }): Endpoint[] {
  const { configs } = deps;
  return [
    endpoint({
      method: 'get',
      path: '/v1/config',
      auth: { secretKey: ['config:read'] },
      input: (req) => noQuery(req.query),
      handle: async () => ({ body: await configs.get() }),
    }),
    endpoint({
      method: 'put',
      path: '/v1/config',
      auth: { secretKey: ['config:write'] },
      input: (req, principal) => {
        noQuery(req.query);
        return { patch: jsonObjectBody(req.body), actor: keyActor(principal) };
      },
      handle: async ({ patch, actor }) => ({ body: await configs.update(patch, actor) }),
    }),
  ];
}

/** The secret key a request authenticated with, as the actor of what it changes. */
export function keyActor(principal: Principal): AuditActor {
  return { kind: 'key', id: callerKey(principal).id };
}
