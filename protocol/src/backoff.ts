/** How long to wait before retry `attempt` (1-based). */
export interface BackoffOptions {
  /** Ceiling of the first delay, in ms. */
  initialMs: number;
  /** No delay is ever longer than this, in ms. */
  maxMs: number;
}

/**
 * Exponential backoff with full jitter: the ceiling doubles per attempt up to `maxMs`,
 * and the delay is drawn uniformly below it. Spreading retries over the whole range
 * is what breaks up a thundering herd (every widget reconnecting after a server
 * restart, every runner after a deploy); see the AWS Architecture Blog's
 * "Exponential Backoff And Jitter".
 */
export function backoffDelay(attempt: number, options: BackoffOptions, random: () => number = Math.random): number {
  const exponent = Math.max(0, Math.floor(attempt) - 1);
  // Cap the exponent before the power so a client left retrying for days cannot overflow.
  const ceiling = Math.min(options.maxMs, options.initialMs * 2 ** Math.min(exponent, 30));
  return Math.floor(random() * ceiling);
}

/** Reconnecting sockets (widget, runner). */
export const RECONNECT_BACKOFF: BackoffOptions = { initialMs: 1_000, maxMs: 30_000 };
