/** How long to wait before reconnect attempt `attempt` (1-based). */
export interface BackoffOptions {
  /** Upper bound of the first delay, in ms. */
  initialMs: number;
  /** No delay is ever longer than this, in ms. */
  maxMs: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { initialMs: 500, maxMs: 30_000 };

/**
 * Exponential backoff with "equal jitter": the ceiling doubles per attempt up to
 * `maxMs`, and the delay is drawn from its upper half. The random half spreads out
 * the reconnect storm after a server restart (every open widget lost its socket at
 * the same moment); the fixed half keeps a dead server from being hammered.
 */
export function backoffDelay(
  attempt: number,
  options: BackoffOptions = DEFAULT_BACKOFF,
  random: () => number = Math.random,
): number {
  const exponent = Math.max(0, attempt - 1);
  // Cap the exponent before Math.pow so a widget left open for days cannot overflow.
  const ceiling = Math.min(options.maxMs, options.initialMs * 2 ** Math.min(exponent, 30));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}
