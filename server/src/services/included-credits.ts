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
 * The period one grant of a plan's included credits covers: `key` is the grant's
 * ledger key (unique per tenant, so a period gets one grant whoever grants it), `label`
 * names the period in the grant's reason.
 */
export interface CreditPeriod {
  key: string;
  label: string;
  /**
   * The plan whose credits the period gets, where the integration knows it better than
   * the tenant's plan field (which follows it a moment later): every path then grants
   * the same amount under the key.
   */
  plan?: string;
}

/** The calendar month (UTC) `date` falls in: the period of every tenant no integration bills. */
export function calendarPeriod(date: Date): CreditPeriod {
  const month = creditMonth(date);
  return { key: `monthly:${month}`, label: month };
}

/**
 * An integration that bills some tenants on periods of its own (the Shopify app: the
 * app subscription's billing period). For a tenant it bills it answers the period `at`
 * falls in, or null when that period is not known yet (nothing is granted then);
 * undefined for a tenant it does not bill.
 */
export interface CreditPeriodSource {
  periodOf(tenantId: string, at: Date): Promise<CreditPeriod | null | undefined>;
}

/**
 * Grants the plan's credits for `period` to the tenant in scope, keyed by the period,
 * so however many processes, runs and paths attempt it, a tenant gets one grant per
 * period (the ledger's unique key decides). Unused credits carry over: a grant adds,
 * it does not reset.
 */
export async function grantIncludedCredits(
  ledger: CreditLedger,
  plan: Plan,
  period: CreditPeriod,
  actor: AuditActor,
): Promise<boolean> {
  if (plan.monthlyCredits <= 0) return false;
  try {
    const { replayed } = await ledger.grant({
      amount: plan.monthlyCredits,
      reason: `${plan._id} plan: credits included for ${period.label}`,
      actor,
      idempotencyKey: period.key,
    });
    return !replayed;
  } catch (error) {
    // The period's grant exists with another amount: the plan changed after it was made.
    if (error instanceof AppError && error.code === 'conflict') return false;
    throw error;
  }
}

const HOUR_MS = 60 * 60 * 1000;

/**
 * Tops every active tenant up with its plan's credits once a period: the calendar month
 * (UTC), or the period an integration bills the tenant on (`use`). At start and then
 * hourly, on every server process; the ledger's keys make the repeats harmless.
 * Suspended and deleted tenants get nothing; a suspended tenant reactivated later in
 * the period gets that period's grant on the next run.
 */
export class IncludedCredits {
  private readonly schedule = new PeriodicRun(
    () => this.grantMonth(),
    (err: unknown) => log.error({ err }, 'monthly credits failed'),
  );

  private readonly sources: CreditPeriodSource[] = [];

  constructor(private readonly deps: { models: Models; plans: PlanService; ledger: CreditLedger; now?: () => Date }) {}

  /** An integration's periods replace the calendar month for the tenants it bills. */
  use(source: CreditPeriodSource): void {
    this.sources.push(source);
  }

  /** Grants this period's credits to every active tenant that has not had them; returns how many got them. */
  async grantMonth(): Promise<number> {
    const now = this.deps.now?.() ?? new Date();
    const tenants = await runAsSystem('monthly credits: active tenants', () =>
      this.deps.models.Tenant.find({ status: 'active' }).select({ _id: 1, plan: 1 }).lean(),
    );
    let granted = 0;
    for (const tenant of tenants) {
      const period = await this.periodOf(tenant._id, now);
      if (!period) continue;
      const plan = await this.deps.plans.get(period.plan ?? tenant.plan);
      const made = await runWithTenant(tenant._id, () =>
        grantIncludedCredits(this.deps.ledger, plan, period, { kind: 'system' }),
      );
      if (made) granted += 1;
    }
    if (granted > 0) log.info({ month: creditMonth(now), granted }, 'granted included credits');
    return granted;
  }

  /** The tenant's period: an integration's (null: not known yet), else the calendar month. */
  private async periodOf(tenantId: string, at: Date): Promise<CreditPeriod | null> {
    for (const source of this.sources) {
      const period = await source.periodOf(tenantId, at);
      if (period !== undefined) return period;
    }
    return calendarPeriod(at);
  }

  start(intervalMs = HOUR_MS): void {
    this.schedule.start(intervalMs);
  }

  /** Stops the schedule and waits for a run in progress (it must not outlive the database connection). */
  stop(): Promise<void> {
    return this.schedule.stop();
  }
}
