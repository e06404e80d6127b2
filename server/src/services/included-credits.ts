import type { Plan } from '../models/plan.model.js';
import type { AuditActor } from '../models/audit-event.model.js';
import type { Models } from '../models/index.js';
import { AppError } from '../errors/app-error.js';
import { createLogger } from '../logging/logger.js';
import { PeriodicRun } from './periodic-run.js';
import { runAsSystem, runWithTenant } from '../tenancy/tenant-context.js';
import type { CreditLedger } from './credit-ledger.js';
import type { PlanService } from './plans.js';

const log = createLogger('included-credits');

/** `YYYY-MM` of a date, in UTC: the month a plan's included credits belong to. */
export function creditMonth(date: Date): string {
  return date.toISOString().slice(0, 7);
}

/**
 * Grants the plan's credits for `month` to the tenant in scope. The grant is keyed
 * `monthly:<YYYY-MM>`, so however many processes and runs attempt it, a tenant gets one
 * grant a month (the ledger's unique key decides). Unused credits carry over: a grant
 * adds, it does not reset.
 */
export async function grantIncludedCredits(ledger: CreditLedger, plan: Plan, month: string, actor: AuditActor): Promise<boolean> {
  if (plan.monthlyCredits <= 0) return false;
  try {
    const { replayed } = await ledger.grant({
      amount: plan.monthlyCredits,
      reason: `${plan._id} plan: credits included for ${month}`,
      actor,
      idempotencyKey: `monthly:${month}`,
    });
    return !replayed;
  } catch (error) {
    // The month's grant exists with another amount: the plan changed after it was made.
    if (error instanceof AppError && error.code === 'conflict') return false;
    throw error;
  }
}

const HOUR_MS = 60 * 60 * 1000;

/**
 * Tops every active tenant up with its plan's credits once a calendar month (UTC): at
 * start and then hourly, on every server process; the ledger's keys make the repeats
 * harmless. Suspended and deleted tenants get nothing; a suspended tenant reactivated
 * later in the month gets that month's grant on the next run.
 */
export class IncludedCredits {
  private readonly schedule = new PeriodicRun(
    () => this.grantMonth(),
    (err: unknown) => log.error({ err }, 'monthly credits failed'),
  );

  constructor(private readonly deps: { models: Models; plans: PlanService; ledger: CreditLedger; now?: () => Date }) {}

  /** Grants this month's credits to every active tenant that has not had them; returns how many got them. */
  async grantMonth(): Promise<number> {
    const month = creditMonth(this.deps.now?.() ?? new Date());
    const tenants = await runAsSystem('monthly credits: active tenants', () =>
      this.deps.models.Tenant.find({ status: 'active' }).select({ _id: 1, plan: 1 }).lean(),
    );
    let granted = 0;
    for (const tenant of tenants) {
      const plan = await this.deps.plans.get(tenant.plan);
      const made = await runWithTenant(tenant._id, () => grantIncludedCredits(this.deps.ledger, plan, month, { kind: 'system' }));
      if (made) granted += 1;
    }
    if (granted > 0) log.info({ month, granted }, 'granted included credits');
    return granted;
  }

  start(intervalMs = HOUR_MS): void {
    this.schedule.start(intervalMs);
  }

  /** Stops the schedule and waits for a run in progress (it must not outlive the database connection). */
  stop(): Promise<void> {
    return this.schedule.stop();
  }
}
