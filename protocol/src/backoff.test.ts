import { describe, expect, it } from 'vitest';
import { RECONNECT_BACKOFF, backoffDelay } from './backoff.js';

describe('backoffDelay', () => {
  const options = { initialMs: 500, maxMs: 30_000 };

  it('doubles its ceiling from the first delay up to the maximum', () => {
    const ceiling = (attempt: number) => backoffDelay(attempt, options, () => 0.999_999_9) + 1;
    expect([1, 2, 3, 4, 5, 6, 7, 8].map(ceiling)).toEqual([500, 1000, 2000, 4000, 8000, 16000, 30000, 30000]);
    expect(ceiling(10_000)).toBe(30_000);
  });

  it('draws from the whole range below the ceiling (full jitter), down to zero', () => {
    expect(backoffDelay(3, options, () => 0)).toBe(0);
    expect(backoffDelay(3, options, () => 0.5)).toBe(1000);
    const delays = Array.from({ length: 500 }, () => backoffDelay(3, options));
    expect(Math.min(...delays)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...delays)).toBeLessThan(2000);
    // Spread over the range, not bunched in its upper half (what "equal jitter" would give).
    expect(delays.filter((delay) => delay < 1000).length).toBeGreaterThan(150);
  });

  it('treats attempts below one as the first', () => {
    expect(backoffDelay(0, RECONNECT_BACKOFF, () => 0.5)).toBe(RECONNECT_BACKOFF.initialMs / 2);
    expect(backoffDelay(-3, RECONNECT_BACKOFF, () => 0.5)).toBe(RECONNECT_BACKOFF.initialMs / 2);
  });
});
