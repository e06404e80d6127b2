/** Exponential backoff with full jitter: 0.5 s, 1 s, 2 s … capped, each randomised down. */
export function backoffDelay(attempt: number, baseMs = 500, capMs = 30_000, random = Math.random): number {
  const ceiling = Math.min(capMs, baseMs * 2 ** Math.max(0, attempt));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}
