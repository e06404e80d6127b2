import { AppError } from '../errors/app-error.js';
import { createLogger } from '../logging/logger.js';
import { canonicalPlanName, type PlanService } from './plans.js';
import type { VerifiedKey } from './key-service.js';
import { TokenBuckets, type TokenBucketState } from './token-buckets.js';

const log = createLogger('rate-limits');

/** Every bucket counts requests a minute: plans and keys are sold that way. */
export const RATE_LIMIT_WINDOW_SECONDS = 60;

/** Which limit a bucket enforces; the REST `RateLimit-Policy` names them so. */
export type RateLimitPolicy = 'tenant' | 'key' | 'shopper' | 'address';

/** One bucket a request must fit in: `key` names whose bucket, `perMinute` its size. */
export interface BucketCheck {
  policy: RateLimitPolicy;
  key: string;
  perMinute: number;
  /**
   * Counted in each process alone, not shared among the live ones: for a bucket whose
   * traffic stays on one process (a shopper's socket), where a 1/N share would cut an
   * honest client down for nothing.
   */
  perProcess?: boolean;
}

/** A bucket after a request: what this process still admits in it, and when it fills again. */
export interface BucketState {
  policy: RateLimitPolicy;
  /** The bucket's size across the deployment (requests a minute). */
  limit: number;
  /** Requests this process admits now, at once. */
  remaining: number;
  /** Seconds until the bucket is full again. */
  resetSeconds: number;
}

export type RateVerdict =
  { ok: true; states: BucketState[] } | { ok: false; states: BucketState[]; refused: BucketState; retryAfter: number };

/** What a caller over a limit is told, by the limit; `{s}` is the wait in seconds. */
export const RATE_LIMIT_MESSAGES: Record<RateLimitPolicy, string> = {
  tenant: "This account is over its plan's requests a minute; retry in {s} s.",
  key: 'This API key is over its requests a minute; retry in {s} s.',
  shopper: 'You are creating images faster than this studio allows; try again in {s} s.',
  address: 'Too many requests from this address; retry in {s} s.',
};

/** The refusal for a verdict that refused: a 429 problem, or a widget `error` with `retryAfter`. */
export function rateLimited(verdict: Extract<RateVerdict, { ok: false }>): AppError {
  return new AppError('rate_limited', RATE_LIMIT_MESSAGES[verdict.refused.policy].replace('{s}', String(verdict.retryAfter)), {
    retryAfter: verdict.retryAfter,
  });
}

export interface RateLimitsDeps {
  plans: Pick<PlanService, 'list'>;
  /** How many server processes share the database now (this one included). */
  liveProcesses(): Promise<number>;
  /** How often the plans' sizes and the process count are read again. */
  refreshMs: number;
  /** `generate` messages a minute per shopper (verified, or an anonymous browser's id). */
  shopperPerMinute: number;
  /** `generate` messages a minute per client address, whoever sends them. */
  widgetAddressPerMinute: number;
  /** The clock the buckets refill by (tests step it instead of waiting). */
  now?: () => Date;
}

/** Who sent a widget `generate`: the tenant, the shopper's bucket key (if known) and the address. */
export interface GenerateSender {
  tenantId: string;
  plan: string;
  /** The publishable key the widget came with: its own limit, when it has one. */
  key: Pick<VerifiedKey, 'id' | 'requestsPerMinute'>;
  /** `shopper:<id>` for a verified shopper, `browser:<id>` for an anonymous one that sent an id. */
  shopper: string | undefined;
  address: string;
}

/**
 * Token buckets per tenant, key, shopper and client address, in this process's memory
 * (token-buckets.ts: a bucket holds `perMinute` tokens and refills `perMinute` a minute,
 * continuously, so no more than `perMinute` pass at once whenever they come).
 *
 * Why in memory: FerretDB runs `$inc` and conditional updates as read-modify-write, so a
 * bucket kept in the database would over-admit under concurrent requests there, and a
 * round trip per bucket per request is a cost on MongoDB too. Instead each of N live
 * server processes (the `server_instances` heartbeat) charges N tokens per request, so
 * it admits ⌊perMinute / N⌋ at once and refills at 1/N of the rate, and all of them together
 * never more than `perMinute` at once (server/docs/rate-limits.md). A bucket smaller than N
 * still admits one request per process;
 * a plan's change reaches the buckets within `refreshMs`;
 * a shopper's is counted per process (`perProcess`).
 */
export class RateLimits {
  private readonly buckets: TokenBuckets;
  /**
   * The plans' sizes and the process count, read on first use and then every `refreshMs`
   * in the background: a request never waits on the database for its limits.
   */
  private snapshot: Promise<Snapshot> | undefined;
  private refresher: NodeJS.Timeout | undefined;

  constructor(private readonly deps: RateLimitsDeps) {
    this.buckets = new TokenBuckets(deps.now ? { now: deps.now } : {});
  }

  stop(): void {
    clearInterval(this.refresher);
    this.refresher = undefined;
  }

  /** The tenant's bucket, sized by its plan: REST requests and its shoppers' `generate`s share it. */
  async tenant(tenantId: string, plan: string): Promise<BucketCheck> {
    const { plans } = await this.current();
    const perMinute = plans.get(canonicalPlanName(plan) ?? plan);
    if (perMinute === undefined)
      throw new AppError('internal', `plan "${plan}" is not in the plans collection`, { expose: false });
    return { policy: 'tenant', key: tenantId, perMinute };
  }

  /**
   * A widget `generate`: the shopper's bucket, the address's, the publishable key's (when
   * it has `requestsPerMinute`), then the tenant's (the narrowest first, so a shopper over
   * their own limit spends nothing of the shop's).
   * Rejects with `rate_limited` when one is empty. The admission can be handed back: a
   * retry of a ref already accepted is answered with its job, and costs nothing.
   */
  async admitGenerate(sender: GenerateSender): Promise<Admission> {
    const { verdict, taken } = await this.takeEach([
      ...(sender.shopper === undefined
        ? []
        : [
            {
              policy: 'shopper' as const,
              key: `${sender.tenantId}:${sender.shopper}`,
              perMinute: this.deps.shopperPerMinute,
              perProcess: true,
            },
          ]),
      { policy: 'address', key: `widget:${sender.address}`, perMinute: this.deps.widgetAddressPerMinute },
      ...(sender.key.requestsPerMinute === null
        ? []
        : [{ policy: 'key' as const, key: sender.key.id, perMinute: sender.key.requestsPerMinute }]),
      await this.tenant(sender.tenantId, sender.plan),
    ]);
    if (verdict.ok) return { giveBack: () => void this.giveBack(taken) };
    log.info(
      { tenantId: sender.tenantId, policy: verdict.refused.policy, retryAfter: verdict.retryAfter },
      'generate over its rate limit',
    );
    throw rateLimited(verdict);
  }

  /**
   * Takes a token from each bucket in order. At the first that is empty, the request is
   * refused and the buckets before it get their tokens back: what a refused request
   * would have spent stays with the caller (a throttled key does not drain its tenant).
   */
  async take(checks: readonly BucketCheck[]): Promise<RateVerdict> {
    return (await this.takeEach(checks)).verdict;
  }

  private async takeEach(checks: readonly BucketCheck[]): Promise<{ verdict: RateVerdict; taken: Taken[] }> {
    const { processes } = await this.current();
    const taken: Taken[] = [];
    const states: BucketState[] = [];
    // No await from here on: every bucket is taken from (or given back to) in one step.
    for (const check of checks) {
      const cost = check.perProcess ? 1 : Math.min(processes, check.perMinute);
      const bucket = this.buckets.take(bucketKey(check), check.perMinute, cost);
      if (!bucket.ok) {
        const refused = bucketState(check, bucket, cost);
        const retryAfter = Math.max(1, Math.ceil(bucket.retryInMs / 1000));
        return { verdict: { ok: false, states: [...this.giveBack(taken), refused], refused, retryAfter }, taken: [] };
      }
      states.push(bucketState(check, bucket, cost));
      taken.push({ check, cost });
    }
    return { verdict: { ok: true, states }, taken };
  }

  private giveBack(taken: readonly Taken[]): BucketState[] {
    return taken.map(({ check, cost }) => bucketState(check, this.buckets.give(bucketKey(check), check.perMinute, cost), cost));
  }

  private current(): Promise<Snapshot> {
    if (!this.snapshot) {
      const first = this.read();
      // A first read that failed is tried again by the next request.
      this.snapshot = first.catch((error: unknown) => {
        this.snapshot = undefined;
        throw error;
      });
      void first.then(
        () => {
          this.refresher ??= setInterval(() => void this.refresh(), this.deps.refreshMs);
          this.refresher.unref();
        },
        () => undefined,
      );
    }
    return this.snapshot;
  }

  /** What was read last stands while the database cannot be read: limits keep working. */
  private async refresh(): Promise<void> {
    try {
      const next = await this.read();
      this.snapshot = Promise.resolve(next);
    } catch (error) {
      log.warn({ err: error }, 'could not read plans and server processes; limits use the last ones read');
    }
  }

  private async read(): Promise<Snapshot> {
    const [plans, processes] = await Promise.all([this.deps.plans.list(), this.deps.liveProcesses()]);
    return { plans: new Map(plans.map((plan) => [plan.name, plan.requestsPerMinute])), processes: Math.max(1, processes) };
  }
}

interface Snapshot {
  /** Requests a minute by plan name. */
  plans: Map<string, number>;
  processes: number;
}

/** A request that was admitted, which `giveBack` undoes. */
export interface Admission {
  giveBack(): void;
}

interface Taken {
  check: BucketCheck;
  cost: number;
}

/** Buckets of a policy share a namespace whatever their size: a plan's new size keeps what was taken. */
function bucketKey(check: BucketCheck): string {
  return `${check.policy}:${check.key}`;
}

function bucketState(check: BucketCheck, bucket: TokenBucketState, cost: number): BucketState {
  return {
    policy: check.policy,
    limit: check.perMinute,
    remaining: Math.floor(bucket.tokens / cost),
    resetSeconds: Math.ceil(bucket.fullInMs / 1000),
  };
}
