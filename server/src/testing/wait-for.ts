import { setTimeout as sleep } from 'node:timers/promises';

export interface WaitOptions {
  /** Generous on purpose: the condition is what the test asserts, not the time it took. */
  timeoutMs?: number;
  intervalMs?: number;
  /** Said when the wait gives up, so a failure names what never happened. */
  what?: string;
}

/**
 * Polls `probe` until it returns something other than `undefined`, `null` or `false`,
 * and returns that. Tests wait for conditions this way instead of sleeping.
 */
export async function waitFor<T>(probe: () => T | Promise<T>, options: WaitOptions = {}): Promise<Exclude<T, undefined | null | false>> {
  const { timeoutMs = 15_000, intervalMs = 20, what = 'condition' } = options;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined && value !== null && value !== false) return value as Exclude<T, undefined | null | false>;
      lastError = undefined;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`, lastError ? { cause: lastError } : undefined);
    }
    await sleep(intervalMs);
  }
}
