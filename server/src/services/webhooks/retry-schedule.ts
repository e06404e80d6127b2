/**
 * When a failed delivery is tried again: the n-th entry is the wait after the n-th
 * failed attempt. About three days in all (73 h 35 min), as Svix and Stripe retry:
 * 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h, 12 h, 12 h, 20 h — eleven attempts. Each
 * wait is spread by ±10 % so that deliveries failing together (a receiver's outage) do
 * not all come back in the same instant.
 */
export const DEFAULT_WEBHOOK_RETRY_SCHEDULE_MS: readonly number[] = [
  5_000,
  5 * 60_000,
  30 * 60_000,
  2 * 3_600_000,
  5 * 3_600_000,
  10 * 3_600_000,
  10 * 3_600_000,
  12 * 3_600_000,
  12 * 3_600_000,
  20 * 3_600_000,
];

const JITTER = 0.1;

/** The wait after failed attempt `attempt` (1-based), jittered; undefined once the schedule is spent. */
export function retryDelayMs(
  schedule: readonly number[],
  attempt: number,
  random: () => number = Math.random,
): number | undefined {
  const base = schedule[attempt - 1];
  if (base === undefined) return undefined;
  return Math.round(base * (1 - JITTER + 2 * JITTER * random()));
}

const UNITS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Parses `5s,5m,30m,2h` (units ms, s, m, h, d); throws a message naming the bad entry. */
export function parseRetrySchedule(text: string): number[] {
  const entries = text.split(',').map((entry) => entry.trim());
  if (entries.length > 50) throw new Error('at most 50 retries');
  return entries.map((entry) => {
    const match = /^(\d+)(ms|s|m|h|d)$/.exec(entry);
    if (!match) throw new Error(`"${entry}" is not a duration such as 500ms, 5s, 30m, 2h or 1d`);
    const ms = Number(match[1]) * UNITS[match[2]!]!;
    if (ms < 1 || ms > 7 * 86_400_000) throw new Error(`"${entry}" must be between 1ms and 7d`);
    return ms;
  });
}
