import type { AuditEventBody } from '@atelier/protocol';
import { idSchema } from '@atelier/protocol/schemas';
import { auditQuerySchema, createTenantSchema, parse, tenantListQuerySchema, updateTenantSchema } from '../http/schemas.js';
import { invalidRequest } from '../errors/app-error.js';
import { expectArgs, numberOption, stringOption, type Command } from './invocation.js';

export const tenantCommands: Record<string, Command> = {
  'tenants create': async ({ args, options, services, actor }) => {
    expectArgs(args, [], 'tenants create');
    const input = parse(createTenantSchema, {
      name: options.name,
      plan: options.plan,
      origins: options.origin ?? [],
      ...(options.mode !== undefined ? { mode: options.mode } : {}),
    });
    const created = await services.tenants.create(input, actor);
    return {
      json: { tenantId: created.tenantId, secretKey: created.secretKey, publishableKey: created.publishableKey },
      text: [
        `Created tenant ${created.name} (${created.tenantId}) on plan ${created.plan}.`,
        `Secret key (shown once): ${created.secretKey}`,
        `Publishable key: ${created.publishableKey}`,
        `Storage prefix: ${created.storagePrefix}`,
      ].join('\n'),
    };
  },
  'tenants list': async ({ args, options, services }) => {
    expectArgs(args, [], 'tenants list');
    const { status } = parse(tenantListQuerySchema, options.status === undefined ? {} : { status: options.status });
    const list = await services.tenants.list(status);
    return {
      json: list,
      text:
        list.map((t) => `${t.tenantId}  ${t.status}  ${t.plan}  ${t.name}  ${t.origins.join(',')}`).join('\n') || 'No tenants.',
    };
  },
  'tenants set': async ({ args, options, services, actor }) => {
    const [tenantId] = expectArgs(args, ['tenantId'], 'tenants set');
    const changes = parse(updateTenantSchema, {
      ...(options.name !== undefined ? { name: options.name } : {}),
      ...(options.plan !== undefined ? { plan: options.plan } : {}),
      ...(options.origin !== undefined ? { origins: options.origin } : {}),
    });
    if (Object.keys(changes).length === 0) throw invalidRequest('tenants set needs --name, --plan or --origin');
    const tenant = await services.tenants.update(tenantId, changes, actor);
    return { json: tenant, text: `Updated tenant ${tenant.name} (${tenant.tenantId}): plan ${tenant.plan}.` };
  },
  'tenants suspend': async ({ args, services, actor }) => {
    const [tenantId] = expectArgs(args, ['tenantId'], 'tenants suspend');
    const tenant = await services.tenants.update(tenantId, { status: 'suspended' }, actor);
    return { json: tenant, text: `Suspended tenant ${tenant.name} (${tenant.tenantId}): its keys are refused from now on.` };
  },
  'tenants reactivate': async ({ args, services, actor }) => {
    const [tenantId] = expectArgs(args, ['tenantId'], 'tenants reactivate');
    const tenant = await services.tenants.update(tenantId, { status: 'active' }, actor);
    return { json: tenant, text: `Reactivated tenant ${tenant.name} (${tenant.tenantId}).` };
  },
  'tenants delete': async ({ args, options, services, actor }) => {
    const [tenantId] = expectArgs(args, ['tenantId'], 'tenants delete');
    if (options.yes !== true) {
      throw invalidRequest(`tenants delete removes all of ${tenantId}'s data for good; add --yes to go ahead`);
    }
    const deleted = await services.deletion.delete(tenantId, actor);
    const documents = Object.values(deleted.documents).reduce((sum, n) => sum + n, 0);
    return {
      json: deleted,
      text: [
        `Deleted tenant ${tenantId}: ${documents} documents and ${deleted.files} files removed; its id stays as a tombstone.`,
        ...deleted.warnings.map((warning) => `Warning: ${warning}`),
      ].join('\n'),
    };
  },
  'tenants audit': async ({ args, options, services }) => {
    const [tenantId] = expectArgs(args, ['tenantId'], 'tenants audit');
    const id = parse(idSchema, tenantId);
    const limit = numberOption(options, 'limit');
    const action = stringOption(options, 'action');
    const query = parse(auditQuerySchema, {
      ...(limit !== undefined ? { limit } : {}),
      ...(action !== undefined ? { action } : {}),
    });
    // As GET /admin/v1/tenants/:id/audit-events: a deleted tenant's is the platform's record of its deletion.
    const page =
      (await services.deletion.log(id, query)) ?? (await services.tenants.within(id, () => services.audit.list(query)));
    return { json: page, text: page.data.map(auditLine).join('\n') || 'No audit events.' };
  },
};

/** One entry on one line: when, what, who, to what, and its details as JSON. */
export function auditLine(event: AuditEventBody<string>): string {
  const actor = event.actor.id ? `${event.actor.kind}:${event.actor.id}` : event.actor.kind;
  const target = event.target ? `${event.target.kind}:${event.target.id}` : '-';
  return `${event.at}  ${event.action}  ${actor}  ${target}  ${JSON.stringify(event.details)}`;
}
