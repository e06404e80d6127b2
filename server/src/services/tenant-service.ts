import mongoose from 'mongoose';
import type { CreatedTenantBody, PlanName, TenantBody, TenantStatus } from '@atelier/protocol';
import type { AuditActor } from '../models/audit-event.model.js';
import type { Models } from '../models/index.js';
import type { Tenant } from '../models/tenant.model.js';
import { notFound } from '../errors/app-error.js';
import { tenantPrefix } from '../storage/storage.js';
import { runAsSystem, runWithTenant } from '../tenancy/tenant-context.js';
import type { AuditLog } from './audit-log.js';
import type { CreditLedger } from './credit-ledger.js';
import { newId } from './ids.js';
import { calendarPeriod, grantIncludedCredits } from './included-credits.js';
import type { KeyMode, KeyService } from './key-service.js';
import type { PlanService } from './plans.js';
import type { TenantConfigService } from './tenant-config.js';

const { trusted } = mongoose;

export interface CreateTenantInput {
  name: string;
  plan: PlanName;
  origins: string[];
  mode?: KeyMode;
}

export interface TenantChanges {
  name?: string;
  plan?: PlanName;
  origins?: string[];
  status?: Extract<TenantStatus, 'active' | 'suspended'>;
}

export interface TenantServiceDeps {
  models: Models;
  keys: KeyService;
  plans: PlanService;
  configs: TenantConfigService;
  ledger: CreditLedger;
  audit: AuditLog;
  now?: () => Date;
}

/** Operator-side tenant management. Input arrives validated (see http/schemas.ts). */
export class TenantService {
  constructor(private readonly deps: TenantServiceDeps) {}

  /**
   * Onboarding: the tenant, its default configuration, its plan's monthly credits and
   * one secret and one publishable key (shown this once). Its storage prefix
   * (`tenants/<id>/`, answered and audited) needs nothing made: files create their
   * directories, or S3 its keys, as they land, and the tenant's deletion removes it whole. The month's grant is
   * keyed `monthly:<YYYY-MM>`, so a monthly top-up for the same month cannot grant it twice.
   */
  async create(input: CreateTenantInput, actor: AuditActor): Promise<CreatedTenantBody> {
    const plan = await this.deps.plans.get(input.plan);
    const tenantId = newId('ten');
    await runAsSystem('create tenant', () =>
      this.deps.models.Tenant.create({ _id: tenantId, name: input.name, plan: plan._id, origins: input.origins }),
    );
    await runWithTenant(tenantId, async () => {
      await this.deps.configs.createDefault(actor);
      await this.deps.audit.record('tenant.created', {
        actor,
        target: { kind: 'tenant', id: tenantId },
        details: { name: input.name, plan: plan._id, origins: input.origins, storagePrefix: tenantPrefix(tenantId) },
      });
      await grantIncludedCredits(this.deps.ledger, plan, calendarPeriod(this.now()), actor);
    });
    const keys = await this.deps.keys.issue(tenantId, input.mode ?? 'test', 'default', actor);
    return { tenantId, name: input.name, plan: plan._id, origins: input.origins, storagePrefix: tenantPrefix(tenantId), ...keys };
  }

  /** Oldest first; deleted tenants only when asked for by status. */
  async list(status?: TenantStatus): Promise<TenantBody[]> {
    const tenants = await runAsSystem('list tenants', () =>
      this.deps.models.Tenant.find({ status: status ?? trusted({ $ne: 'deleted' as const }) })
        .sort({ createdAt: 1 })
        .lean(),
    );
    return tenants.map(summarise);
  }

  /**
   * Changes name, plan, origins or status (active ↔ suspended). Suspension takes effect
   * on the next request: keys are checked against the tenant's status on every use (no
   * cache), and the dispatcher leases only active tenants' jobs.
   */
  async update(tenantId: string, changes: TenantChanges, actor: AuditActor): Promise<TenantBody> {
    const { Tenant: Tenants } = this.deps.models;
    const before = await runAsSystem('read tenant', () => Tenants.findById(tenantId).lean());
    if (!before || before.status === 'deleted') throw notFound('The tenant');
    if (changes.plan) await this.deps.plans.get(changes.plan);
    const after = await runAsSystem('update tenant', () =>
      Tenants.findOneAndUpdate(
        { _id: tenantId, status: trusted({ $ne: 'deleted' as const }) },
        { $set: changes },
        { returnDocument: 'after' },
      ).lean(),
    );
    if (!after) throw notFound('The tenant');
    await runWithTenant(tenantId, () => this.audit(before, after, actor));
    return summarise(after);
  }

  /** Runs `fn` in the scope of an existing (not deleted) tenant: the operator acting for it. */
  async within<T>(tenantId: string, fn: () => Promise<T>): Promise<T> {
    const tenant = await runAsSystem('read tenant', () =>
      this.deps.models.Tenant.findById(tenantId).select({ status: 1 }).lean(),
    );
    if (!tenant || tenant.status === 'deleted') throw notFound('The tenant');
    return runWithTenant(tenantId, fn);
  }

  private async audit(before: Tenant, after: Tenant, actor: AuditActor): Promise<void> {
    const target = { kind: 'tenant', id: after._id };
    if (before.status !== after.status) {
      await this.deps.audit.record(after.status === 'suspended' ? 'tenant.suspended' : 'tenant.reactivated', { actor, target });
    }
    if (before.plan !== after.plan) {
      await this.deps.audit.record('plan.changed', { actor, target, details: { from: before.plan, to: after.plan } });
    }
    const fields = (['name', 'origins'] as const).filter(
      (field) => JSON.stringify(before[field]) !== JSON.stringify(after[field]),
    );
    if (fields.length > 0) await this.deps.audit.record('tenant.updated', { actor, target, details: { fields } });
  }

  private now(): Date {
    return (this.deps.now ?? (() => new Date()))();
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
    storagePrefix: tenantPrefix(tenant._id),
  };
}
