import type { AuditEventListBody } from '@atelier/protocol';
import { idSchema } from '@atelier/protocol/schemas';
import type { AuditLog } from '../../services/audit-log.js';
import type { PlatformAuditLog } from '../../services/platform-audit-log.js';
import type { TenantDeletion } from '../../services/tenant-deletion.js';
import type { TenantService } from '../../services/tenant-service.js';
import { endpoint, type Endpoint } from '../endpoint.js';
import { auditQuerySchema, parse, platformAuditQuerySchema } from '../schemas.js';

/**
 * A tenant's audit log, read-only: its own secret key (`audit:read`) and the operator;
 * and the platform's (operator actions that belong to no tenant), the operator's alone.
 * No route writes, changes or deletes an entry.
 */
export function auditEndpoints(deps: {
  audit: AuditLog;
  platformAudit: PlatformAuditLog;
  tenants: TenantService;
  deletion: TenantDeletion;
}): Endpoint[] {
  const { audit, platformAudit, tenants, deletion } = deps;
  return [
    endpoint({
      method: 'get',
      path: '/v1/audit-events',
      auth: { secretKey: ['audit:read'] },
      input: (req) => parse(auditQuerySchema, req.query),
      handle: async (query) => ({ body: await audit.list(query) }),
    }),
    endpoint({
      method: 'get',
      path: '/admin/v1/tenants/:id/audit-events',
      auth: 'admin',
      input: (req) => ({ id: parse(idSchema, req.params.id), query: parse(auditQuerySchema, req.query) }),
      handle: async ({ id, query }): Promise<{ body: AuditEventListBody }> => {
        // A deleted tenant's log went with its data: what stays is the platform's record of the deletion.
        const deleted = await deletion.log(id, query);
        if (deleted) return { body: deleted };
        return { body: await tenants.within(id, () => audit.list(query)) };
      },
    }),
    endpoint({
      method: 'get',
      path: '/admin/v1/audit-events',
      auth: 'admin',
      input: (req) => parse(platformAuditQuerySchema, req.query),
      handle: async (query) => ({ body: await platformAudit.list(query) }),
    }),
  ];
}
