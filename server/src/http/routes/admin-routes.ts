import type { RunnerBody } from '@atelier/protocol';
import { endpoint, type Endpoint } from '../endpoint.js';
import { idSchema } from '@atelier/protocol/schemas';
import {
  createTenantSchema,
  jsonObjectBody,
  noBody,
  noQuery,
  parse,
  runnerTokenSchema,
  tenantListQuerySchema,
  updateTenantSchema,
} from '../schemas.js';
import type { TenantDeletion } from '../../services/tenant-deletion.js';
import type { TenantService } from '../../services/tenant-service.js';
import type { RunnerTokenService } from '../../services/runner-token-service.js';
import { healthStatus } from '../../queue/runner-health.js';
import type { RunnerRegistry } from '../../queue/runner-registry.js';

/** The operator's API (`Authorization: Bearer $ATELIER_ADMIN_TOKEN`). */
export function adminEndpoints(deps: {
  tenants: TenantService;
  deletion: TenantDeletion;
  runnerTokens: RunnerTokenService;
  runners: RunnerRegistry;
}): Endpoint[] {
  const actor = { kind: 'admin' } as const;
  return [
    endpoint({
      method: 'post',
      path: '/admin/v1/tenants',
      auth: 'admin',
      input: (req) => {
        noQuery(req.query);
        return parse(createTenantSchema, jsonObjectBody(req.body));
      },
      handle: async (input) => ({ status: 201, body: await deps.tenants.create(input, actor) }),
    }),
    endpoint({
      method: 'get',
      path: '/admin/v1/tenants',
      auth: 'admin',
      input: (req) => parse(tenantListQuerySchema, req.query),
      handle: async ({ status }) => ({ body: { data: await deps.tenants.list(status) } }),
    }),
    endpoint({
      method: 'patch',
      path: '/admin/v1/tenants/:id',
      auth: 'admin',
      input: (req) => {
        noQuery(req.query);
        return { id: parse(idSchema, req.params.id), changes: parse(updateTenantSchema, jsonObjectBody(req.body)) };
      },
      handle: async ({ id, changes }) => ({ body: await deps.tenants.update(id, changes, actor) }),
    }),
    endpoint({
      method: 'delete',
      path: '/admin/v1/tenants/:id',
      auth: 'admin',
      input: (req) => {
        noQuery(req.query);
        noBody(req.body);
        return parse(idSchema, req.params.id);
      },
      handle: async (id) => ({ body: await deps.deletion.delete(id, actor) }),
    }),
    endpoint({
      method: 'post',
      path: '/admin/v1/runner-tokens',
      auth: 'admin',
      input: (req) => {
        noQuery(req.query);
        return parse(runnerTokenSchema, jsonObjectBody(req.body));
      },
      handle: async ({ name }) => ({ status: 201, body: await deps.runnerTokens.create(name, actor) }),
    }),
    endpoint({
      method: 'get',
      path: '/admin/v1/runners',
      auth: 'admin',
      input: (req) => noQuery(req.query),
      handle: async () => {
        const now = new Date();
        return {
          body: {
            data: (await deps.runners.list()).map((r): RunnerBody => ({
              id: r._id,
              name: r.name,
              device: r.device,
              model: r.model,
              capabilities: r.capabilities ?? null,
              state: r.state,
              jobId: r.jobId,
              connectedAt: r.connectedAt.toISOString(),
              lastSeenAt: r.lastSeenAt.toISOString(),
              health: healthStatus(r, now),
              failures: r.failures ?? 0,
              // Kept while on trial too: when it last came out of its cool-down.
              coolingDownUntil: r.cooldownMs ? (r.coolingDownUntil?.toISOString() ?? null) : null,
              lastFailure:
                r.lastFailureCode && r.lastFailureAt ? { code: r.lastFailureCode, at: r.lastFailureAt.toISOString() } : null,
            })),
          },
        };
      },
    }),
  ];
}
