import { PLAN_NAMES, type PlanBody, type PlanName } from '@atelier/protocol';
import type { AuditActor } from '../models/audit-event.model.js';
import type { Models } from '../models/index.js';
import type { Plan } from '../models/plan.model.js';
import { AppError, notFound } from '../errors/app-error.js';
import { createLogger } from '../logging/logger.js';
import { runAsSystem } from '../tenancy/tenant-context.js';
import { PlatformAuditLog } from './platform-audit-log.js';

const log = createLogger('plans');

export type PlanLimits = Omit<Plan, '_id' | 'updatedAt'>;
export type PlanChanges = Partial<PlanLimits>;

/** What a fresh deployment's plans include; an operator changes them afterwards (`plans set`). */
export const DEFAULT_PLANS: Record<PlanName, PlanLimits> = {
  free: {
    monthlyCredits: 10,
    presets: ['speed', 'extreme-speed', 'lightning'],
    requestsPerMinute: 10,
    concurrentJobs: 1,
    maxImagesPerRequest: 1,
    maxPixels: 1024 * 1024,
    forcedWatermark: true,
    queuePriority: 1,
  },
  basic: {
    monthlyCredits: 500,
    presets: ['quality', 'speed', 'extreme-speed', 'lightning'],
    requestsPerMinute: 60,
    concurrentJobs: 2,
    maxImagesPerRequest: 2,
    // A 1024² picture upscaled 1.5×; Pro's 2048² takes it 2×.
    maxPixels: 1536 * 1536,
    forcedWatermark: false,
    queuePriority: 2,
  },
  pro: {
    monthlyCredits: 2000,
    presets: ['quality', 'speed', 'extreme-speed', 'lightning'],
    requestsPerMinute: 120,
    concurrentJobs: 4,
    maxImagesPerRequest: 4,
    maxPixels: 2048 * 2048,
    forcedWatermark: false,
    queuePriority: 4,
  },
  enterprise: {
    monthlyCredits: 20000,
    presets: ['quality', 'speed', 'extreme-speed', 'lightning'],
    requestsPerMinute: 600,
    concurrentJobs: 16,
    maxImagesPerRequest: 4,
    maxPixels: 4096 * 4096,
    forcedWatermark: false,
    queuePriority: 8,
  },
};

/**
 * Names that used to be plans. `starter` became `basic`: input naming it is read as
 * `basic`, and tenants stored with it are renamed at start-up (`migrateLegacyNames`).
 */
export const PLAN_ALIASES: Readonly<Record<string, PlanName>> = { starter: 'basic' };

/** A plan name as the API and CLI accept it (aliases included), as its current name. */
export function canonicalPlanName(name: string): PlanName | undefined {
  if ((PLAN_NAMES as readonly string[]).includes(name)) return name as PlanName;
  return PLAN_ALIASES[name];
}

const DEFAULT_CACHE_TTL_MS = 5_000;

/**
 * Plans as data in the `plans` collection. Reads go through a small cache keyed by plan
 * name: a change made in this process is seen at once (the entry is dropped on write),
 * one made by another server process within `cacheTtlMs` (5 s).
 */
export class PlanService {
  private readonly cache = new Map<PlanName, { plan: Plan; at: number }>();

  private readonly platformAudit: PlatformAuditLog;

  constructor(
    private readonly deps: { models: Models; platformAudit?: PlatformAuditLog; cacheTtlMs?: number; now?: () => number },
  ) {
    this.platformAudit = deps.platformAudit ?? new PlatformAuditLog({ models: deps.models });
  }

  /**
   * Inserts each default plan that is absent; never overwrites one. Safe when several
   * processes start at once: an insert under the unique `_id` either wins or meets the
   * plan another process inserted a moment earlier.
   */
  async seed(): Promise<PlanName[]> {
    const inserted: PlanName[] = [];
    await runAsSystem('seed plans', async () => {
      for (const name of PLAN_NAMES) {
        try {
          await this.deps.models.Plan.create({ _id: name, ...DEFAULT_PLANS[name] });
          inserted.push(name);
        } catch (error) {
          if ((error as { code?: number }).code !== 11000) throw error;
        }
      }
      const renamed = await this.deps.models.Tenant.updateMany({ plan: 'starter' }, { $set: { plan: PLAN_ALIASES.starter } });
      if (renamed.modifiedCount > 0) log.info({ tenants: renamed.modifiedCount }, 'renamed plan starter to basic');
    });
    if (inserted.length > 0) log.info({ plans: inserted }, 'seeded plans');
    return inserted;
  }

  async list(): Promise<PlanBody[]> {
    const plans = await runAsSystem('list plans', () => this.deps.models.Plan.find().lean());
    const order = (plan: Plan) => PLAN_NAMES.indexOf(plan._id);
    return plans.sort((a, b) => order(a) - order(b)).map(planBody);
  }

  /** The plan a tenant is on. A name that is not stored is a deployment fault, not the caller's. */
  async get(name: string): Promise<Plan> {
    const planName = canonicalPlanName(name);
    if (!planName) throw new AppError('internal', `unknown plan "${name}"`, { expose: false });
    const now = (this.deps.now ?? Date.now)();
    const cached = this.cache.get(planName);
    if (cached && now - cached.at < (this.deps.cacheTtlMs ?? DEFAULT_CACHE_TTL_MS)) return cached.plan;
    const plan = await runAsSystem('read plan', () => this.deps.models.Plan.findById(planName).lean());
    if (!plan) throw new AppError('internal', `plan "${planName}" is not in the plans collection`, { expose: false });
    this.cache.set(planName, { plan, at: now });
    return plan;
  }

  /** Changes some of a plan's limits (input validated by the caller). */
  async update(name: PlanName, changes: PlanChanges, actor: AuditActor = { kind: 'system' }): Promise<PlanBody> {
    const { before, after } = await runAsSystem('update plan', async () => ({
      before: await this.deps.models.Plan.findById(name).lean(),
      after: await this.deps.models.Plan.findOneAndUpdate({ _id: name }, { $set: changes }, { returnDocument: 'after' }).lean(),
    }));
    this.cache.delete(name);
    if (!before || !after) throw notFound(`The plan "${name}"`);
    log.info({ plan: name, changes }, 'plan changed');
    // `before` is read just before the write (no transactions): a concurrent edit of the same plan may land between.
    const fields = Object.keys(changes) as (keyof PlanChanges)[];
    await this.platformAudit.record('plan.updated', {
      actor,
      target: { kind: 'plan', id: name },
      details: {
        fields,
        before: Object.fromEntries(fields.map((field) => [field, before[field]])),
        after: Object.fromEntries(fields.map((field) => [field, after[field]])),
      },
    });
    return planBody(after);
  }
}

export function planBody(plan: Plan): PlanBody {
  return {
    name: plan._id,
    monthlyCredits: plan.monthlyCredits,
    presets: plan.presets,
    requestsPerMinute: plan.requestsPerMinute,
    concurrentJobs: plan.concurrentJobs,
    maxImagesPerRequest: plan.maxImagesPerRequest,
    maxPixels: plan.maxPixels,
    forcedWatermark: plan.forcedWatermark,
    queuePriority: plan.queuePriority,
    updatedAt: plan.updatedAt.toISOString(),
  };
}
