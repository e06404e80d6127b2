import type { CreatedTenantBody, TenantBody } from '@atelier/protocol';
import type { Models } from '../models/index.js';
import type { Tenant } from '../models/tenant.model.js';
import { notFound } from '../errors/app-error.js';
import { runAsSystem } from '../tenancy/tenant-context.js';
import { newId } from './ids.js';
import type { KeyMode, KeyService } from './key-service.js';

export interface CreateTenantInput {
  name: string;
  plan: string;
  origins: string[];
  mode?: KeyMode;
}

/** Operator-side tenant management. Input arrives validated (see http/schemas.ts). */
export class TenantService {
  constructor(private readonly deps: { models: Models; keys: KeyService }) {}

  async create(input: CreateTenantInput): Promise<CreatedTenantBody> {
    const tenantId = newId('ten');
    await runAsSystem('create tenant', () =>
      this.deps.models.Tenant.create({ _id: tenantId, name: input.name, plan: input.plan, origins: input.origins }),
    );
    const keys = await this.deps.keys.issue(tenantId, input.mode ?? 'test', 'default');
    return { tenantId, name: input.name, plan: input.plan, origins: input.origins, ...keys };
  }

  async list(): Promise<TenantBody[]> {
    const tenants = await runAsSystem('list tenants', () => this.deps.models.Tenant.find().sort({ createdAt: 1 }).lean());
    return tenants.map(summarise);
  }

  async update(tenantId: string, changes: { name?: string; plan?: string; origins?: string[] }): Promise<TenantBody> {
    const tenant = await runAsSystem('update tenant', () =>
      this.deps.models.Tenant.findOneAndUpdate({ _id: tenantId }, { $set: changes }, { returnDocument: 'after' }).lean(),
    );
    if (!tenant) throw notFound('The tenant');
    return summarise(tenant);
  }
}

function summarise(tenant: Tenant): TenantBody {
  return {
    tenantId: tenant._id,
    name: tenant.name,
    plan: tenant.plan,
    origins: tenant.origins,
    status: tenant.status,
    createdAt: tenant.createdAt.toISOString(),
  };
}
