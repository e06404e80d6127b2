import type { Request, RequestHandler, Response } from 'express';
import { createLogger } from '../logging/logger.js';
import type { VerifiedKey } from '../services/key-service.js';
import {
  RATE_LIMIT_WINDOW_SECONDS,
  rateLimited,
  type BucketCheck,
  type BucketState,
  type RateLimits,
} from '../services/rate-limits.js';

const log = createLogger('rate-limit');

export interface RestRateLimitDeps {
  limits: RateLimits;
  /** REST requests a minute per client address, counted before the credential is read. */
  addressPerMinute: number;
}

/**
 * The REST API's limits, taken by `enforce` (auth.ts) on every secret-key route: the
 * client address's bucket before the credential is read (so a flood of bad keys is
 * throttled too), then the key's own (when it has `requestsPerMinute`) and the tenant's
 * (its plan's `requestsPerMinute`, shared with its shoppers' `generate` messages).
 *
 * Headers follow draft-ietf-httpapi-ratelimit-headers-10: `RateLimit-Policy` and
 * `RateLimit`, one list member per bucket the request counted in, on every answer of a
 * limited route (2xx and 4xx alike); a 429 also carries `Retry-After`.
 */
export class RestRateLimits {
  constructor(private readonly deps: RestRateLimitDeps) {}

  /** The address's bucket; rejects with `rate_limited` when it is empty. */
  async address(req: Request, res: Response): Promise<void> {
    // `req.ip` honours X-Forwarded-For from a proxy on the loopback address only (app.ts).
    const address = req.ip ?? 'unknown';
    await this.take([{ policy: 'address', key: `rest:${address}`, perMinute: this.deps.addressPerMinute }], res, { address });
  }

  /**
   * The address's bucket as route middleware, for routes outside the endpoint table that
   * do work per request (the embed page's key lookup, the HTTP stream's messages).
   */
  addressLimit(): RequestHandler {
    return (req, res, next) => {
      this.address(req, res).then(() => next(), next);
    };
  }

  /** The key's and the tenant's buckets, once the credential is verified. */
  async credential(principal: { tenantId: string; plan: string; key: VerifiedKey }, res: Response): Promise<void> {
    const { key } = principal;
    const checks: BucketCheck[] = [
      ...(key.requestsPerMinute === null ? [] : [{ policy: 'key' as const, key: key.id, perMinute: key.requestsPerMinute }]),
      await this.deps.limits.tenant(principal.tenantId, principal.plan),
    ];
    await this.take(checks, res, { tenantId: principal.tenantId, keyId: key.id });
  }

  private async take(checks: BucketCheck[], res: Response, context: Record<string, string>): Promise<void> {
    const verdict = await this.deps.limits.take(checks);
    const states = [...verdict.states, ...((res.locals.rateLimits as BucketState[] | undefined) ?? [])];
    res.locals.rateLimits = states;
    res.setHeader('RateLimit-Policy', states.map(policyItem).join(', '));
    res.setHeader('RateLimit', states.map(limitItem).join(', '));
    // The older single-bucket fields many clients and gateways read: the bucket that binds.
    const binding = verdict.ok ? tightest(states) : verdict.refused;
    res.setHeader('RateLimit-Limit', String(binding.limit));
    res.setHeader('RateLimit-Remaining', String(binding.remaining));
    res.setHeader('RateLimit-Reset', String(binding.resetSeconds));
    if (verdict.ok) return;
    log.info({ ...context, policy: verdict.refused.policy, retryAfter: verdict.retryAfter }, 'request over its rate limit');
    throw rateLimited(verdict);
  }
}

/** The bucket with the fewest requests left (the smaller one on a tie): the next to refuse. */
function tightest(states: readonly BucketState[]): BucketState {
  return states.reduce((tight, state) =>
    state.remaining < tight.remaining || (state.remaining === tight.remaining && state.limit < tight.limit) ? state : tight,
  );
}

/** `"tenant";q=120;w=60`: the bucket's size per window. */
function policyItem(state: BucketState): string {
  return `"${state.policy}";q=${state.limit};w=${RATE_LIMIT_WINDOW_SECONDS}`;
}

/** `"tenant";r=57;t=21`: what is left of it, and the seconds until it is full again. */
function limitItem(state: BucketState): string {
  return `"${state.policy}";r=${state.remaining};t=${state.resetSeconds}`;
}
