import { DEFAULT_PERFORMANCE, type TenantConfig } from '@atelier/protocol';
import { defaultTenantConfig, describeIssues, tenantConfigSchema } from '@atelier/protocol/schemas';
import type { AuditActor } from '../models/audit-event.model.js';
import type { Models } from '../models/index.js';
import type { Plan } from '../models/plan.model.js';
import type { Tenant } from '../models/tenant.model.js';
import { AppError, invalidRequest, notFound, unavailable } from '../errors/app-error.js';
import { requireTenantId, TenantScopeError } from '../tenancy/tenant-context.js';
import type { AuditLog } from './audit-log.js';
import { newId } from './ids.js';
import { assertSafeKeys, changedPaths, mergePatch, namedPaths } from './merge-patch.js';
import type { PlanService } from './plans.js';

/** What a tenant may do right now: its plan, and its configuration bounded by that plan. */
export interface TenantPolicy {
  plan: Plan;
  config: TenantConfig;
}

/** Writers racing for one revision retry on the new head; this many losses in a row is a fault. */
const MAX_ATTEMPTS = 50;

/**
 * The configuration of the tenant in scope (`GET/PUT /v1/config`), kept as revisions
 * (see tenant-config.model.ts). Not cached: one indexed read per use, so a change is
 * seen at once by every server process.
 *
 * The plan bounds it in two places. A change is refused (403, naming the field) when
 * it asks for more than the plan includes: a preset outside the plan, or the watermark
 * off on a plan that forces it. And what is stored is always read through the plan
 * (`withinPlan`), so a tenant moved to a smaller plan loses what the plan no longer
 * includes at once, and gets it back on an upgrade, without its stored choice being
 * rewritten.
 */
export class TenantConfigService {
  constructor(private readonly deps: { models: Models; plans: PlanService; audit: AuditLog; now?: () => Date }) {}

  /** Writes a new tenant's first revision: every default. Running it again changes nothing. */
  async createDefault(actor: AuditActor): Promise<void> {
    await this.deps.models.TenantConfig.create({
      _id: newId('cfg'),
      rev: 1,
      config: defaultTenantConfig(),
      changed: [],
      actor,
      at: this.now(),
    }).catch((error: unknown) => {
      if ((error as { code?: number }).code !== 11000) throw error;
    });
  }

  /** The configuration in effect. */
  async get(): Promise<TenantConfig> {
    return (await this.policy(await this.tenant())).config;
  }

  async policy(tenant: Tenant): Promise<TenantPolicy> {
    // The plan comes from `tenant`, the configuration from the scope: both must be one tenant's.
    if (tenant._id !== requireTenantId()) throw new TenantScopeError('policy asked for a tenant other than the one in scope');
    const [plan, head] = await Promise.all([this.deps.plans.get(tenant.plan), this.head()]);
    return { plan, config: withinPlan(head.config, plan) };
  }

  /**
   * Applies a JSON merge patch (RFC 7396) to the stored configuration and answers the
   * configuration in effect. Bad input changes nothing: `__proto__`-like keys and any
   * field the schema refuses are a 400 naming the field, more than the plan includes a
   * 403 naming it. A patch that changes nothing writes nothing.
   */
  async update(patch: unknown, actor: AuditActor): Promise<TenantConfig> {
    assertSafeKeys(patch);
    const { plan } = await this.policy(await this.tenant());
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt += 1) {
      const head = await this.head();
      const next = validConfig(mergePatch(head.config, patch));
      const changed = changedPaths(head.config, next);
      assertWithinPlan(next, [...changed, ...namedPaths(patch)], plan);
      if (changed.length === 0) return withinPlan(next, plan);
      if (changed.includes('output.watermarkStyle.logoImageId')) await this.assertOwnLogo(next);
      const rev = head.rev + 1;
      try {
        await this.deps.models.TenantConfig.create({ _id: newId('cfg'), rev, config: next, changed, actor, at: this.now() });
      } catch (error) {
        if ((error as { code?: number }).code === 11000) continue;
        throw error;
      }
      await this.deps.audit.record('config.changed', { actor, details: { fields: changed, rev } });
      return withinPlan(next, plan);
    }
    throw unavailable('The configuration is being changed by many requests at once; try again.');
  }

  /** The newest stored revision, read through the schema so members added since get their defaults. */
  private async head(): Promise<{ rev: number; config: TenantConfig }> {
    const latest = await this.deps.models.TenantConfig.findOne().sort({ rev: -1 }).lean();
    if (!latest) return { rev: 0, config: defaultTenantConfig() };
    return { rev: latest.rev, config: tenantConfigSchema.parse(latest.config) };
  }

  /**
   * A logo must be one of the tenant's own uploads: the runner gets it as a signed job
   * asset, never from a URL. Another tenant's upload is refused like a made-up id.
   */
  private async assertOwnLogo(config: TenantConfig): Promise<void> {
    const id = config.output.watermarkStyle.logoImageId;
    if (id === null || (await this.deps.models.Upload.findById(id).select({ _id: 1 }).lean())) return;
    const field = 'output.watermarkStyle.logoImageId';
    throw invalidRequest(`${field}: names no upload of yours; upload the logo with POST /v1/uploads first`, {
      errors: [{ field, message: 'names no upload of yours' }],
    });
  }

  private async tenant(): Promise<Tenant> {
    const tenant = await this.deps.models.Tenant.findById(requireTenantId()).lean();
    if (!tenant || tenant.status === 'deleted') throw notFound('The tenant');
    return tenant;
  }

  private now(): Date {
    return (this.deps.now ?? (() => new Date()))();
  }
}

function validConfig(value: unknown): TenantConfig {
  const result = tenantConfigSchema.safeParse(value);
  if (result.success) return result.data;
  const { errors, summary } = describeIssues(result.error);
  throw invalidRequest(summary, { errors });
}

/** A stored configuration as it applies under a plan. */
export function withinPlan(config: TenantConfig, plan: Plan): TenantConfig {
  const kept = config.presets.allowed.filter((preset) => plan.presets.includes(preset));
  const allowed = kept.length > 0 ? kept : [...plan.presets];
  const fallback = allowed.includes(DEFAULT_PERFORMANCE) ? DEFAULT_PERFORMANCE : allowed[0]!;
  return {
    ...config,
    presets: { allowed, default: allowed.includes(config.presets.default) ? config.presets.default : fallback },
    output: { ...config.output, watermark: config.output.watermark || plan.forcedWatermark },
  };
}

/** Refuses a change that asks for more than the plan includes (only what the change named or changed). */
function assertWithinPlan(config: TenantConfig, changed: string[], plan: Plan): void {
  const errors: { field: string; message: string }[] = [];
  const outside = (preset: string) => !(plan.presets as string[]).includes(preset);
  if (changed.includes('presets.allowed')) {
    const extra = config.presets.allowed.filter(outside);
    if (extra.length > 0) {
      errors.push({ field: 'presets.allowed', message: `the ${plan._id} plan does not include ${extra.join(', ')}` });
    }
  }
  if (changed.includes('presets.default') && outside(config.presets.default)) {
    errors.push({ field: 'presets.default', message: `the ${plan._id} plan does not include ${config.presets.default}` });
  }
  if (changed.includes('output.watermark') && !config.output.watermark && plan.forcedWatermark) {
    errors.push({ field: 'output.watermark', message: `the ${plan._id} plan always watermarks images` });
  }
  if (errors.length === 0) return;
  throw new AppError('forbidden', errors.map((e) => `${e.field}: ${e.message}`).join('; '), { details: { errors } });
}
