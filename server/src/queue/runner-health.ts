import { isRetryable, type Code } from '@atelier/protocol';

/** When a runner is taken out of rotation, and for how long (`ATELIER_RUNNER_*`, config.ts). */
export interface BreakerPolicy {
  /** Counted failures in a row that open the breaker. */
  failuresToTrip: number;
  /** The first cool-down; each failed trial doubles it, up to `maxCooldownMs`. */
  cooldownMs: number;
  maxCooldownMs: number;
}

/** A runner's circuit breaker, as kept on its registry record. */
export interface BreakerState {
  /** Counted failures since its last success. */
  failures: number;
  /** The cool-down it was last given; 0 while closed (it has succeeded since it last tripped). */
  cooldownMs: number;
  /** Out of rotation until then; null or past: it may take a job. */
  coolingDownUntil: Date | null;
  lastFailureCode: Code | null;
  lastFailureAt: Date | null;
}

/**
 * `healthy`: leased as usual. `cooling-down`: tripped, leased nothing until
 * `coolingDownUntil`. `on-trial`: the cool-down is over and its next job decides: a
 * success closes the breaker, a failure opens it again for twice as long.
 */
export type RunnerHealthStatus = 'healthy' | 'cooling-down' | 'on-trial';

export const CLOSED: BreakerState = {
  failures: 0,
  cooldownMs: 0,
  coolingDownUntil: null,
  lastFailureCode: null,
  lastFailureAt: null,
};

/**
 * Whether a job failure counts against the runner that reported it: only failures that
 * trying again elsewhere can cure (inference, encoding, an incomplete upload). A
 * permanent failure (bad parameters, content policy) is the job's, a cancel is nobody's,
 * and a runner that goes away is simply gone.
 */
export function countsAgainstRunner(code: Code): boolean {
  return isRetryable(code) && code !== 'runner_disconnected';
}

export function healthStatus(state: Partial<BreakerState>, now: Date): RunnerHealthStatus {
  if (state.coolingDownUntil && state.coolingDownUntil > now) return 'cooling-down';
  return state.cooldownMs ? 'on-trial' : 'healthy';
}

export function afterFailure(state: BreakerState, policy: BreakerPolicy, code: Code, now: Date): BreakerState {
  const failures = state.failures + 1;
  // A failed trial reopens at once with a longer cool-down; otherwise it takes a run of failures.
  const cooldownMs =
    state.cooldownMs > 0
      ? Math.min(state.cooldownMs * 2, policy.maxCooldownMs)
      : failures >= policy.failuresToTrip
        ? policy.cooldownMs
        : 0;
  return {
    failures,
    cooldownMs,
    coolingDownUntil: cooldownMs > 0 ? new Date(now.getTime() + cooldownMs) : null,
    lastFailureCode: code,
    lastFailureAt: now,
  };
}

/** A success closes the breaker and forgets the count; the last failure stays on record for operators. */
export function afterSuccess(state: BreakerState): BreakerState {
  return { ...state, failures: 0, cooldownMs: 0, coolingDownUntil: null };
}

/**
 * One runner's breaker, held by the session of the server process its socket is on:
 * that session is the record's only writer, so plain writes suffice (FerretDB's
 * conditional updates are not atomic across writers, and none are needed here). The
 * record is what every other process reads: the operator's list, `/readyz`, the ETA.
 */
export class RunnerBreaker {
  private state: BreakerState = CLOSED;

  constructor(
    private readonly policy: BreakerPolicy,
    private readonly persist: (state: BreakerState) => Promise<void>,
  ) {}

  /** Epoch milliseconds until which the runner is out of rotation; 0 when it is not. */
  coolingDownUntil(): number {
    return this.state.coolingDownUntil?.getTime() ?? 0;
  }

  /** Records a failed job; answers the new state when this failure (re)opened the breaker. */
  async failed(code: Code, now = new Date()): Promise<BreakerState | undefined> {
    if (!countsAgainstRunner(code)) return undefined;
    this.state = afterFailure(this.state, this.policy, code, now);
    await this.persist(this.state);
    return this.state.coolingDownUntil ? this.state : undefined;
  }

  /** Records a finished job; answers true when it closed a breaker that had tripped. */
  async succeeded(): Promise<boolean> {
    if (this.state.failures === 0 && this.state.cooldownMs === 0) return false;
    const tripped = this.state.cooldownMs > 0;
    this.state = afterSuccess(this.state);
    await this.persist(this.state);
    return tripped;
  }
}
