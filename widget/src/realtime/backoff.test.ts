import { describe, expect, it } from 'vitest';
import { DEFAULT_BACKOFF, backoffDelay } from './backoff.js';

describe('backoffDelay', () => {
  it('doubles from 0.5 s to a 30 s ceiling, drawing from the upper half', () => {
    const top = (attempt: number) => backoffDelay(attempt, DEFAULT_BACKOFF, () => 1);
    const bottom = (attempt: number) => backoffDelay(attempt, DEFAULT_BACKOFF, () => 0);
    expect([1, 2, 3, 4, 5, 6, 7, 8].map(top)).toEqual([500, 1000, 2000, 4000, 8000, 16000, 30000, 30000]);
    expect([1, 2, 3].map(bottom)).toEqual([250, 500, 1000]);
    expect(top(10_000)).toBe(30_000);
  });

  it('jitters within the range', () => {
    for (let i = 0; i < 100; i += 1) {
      const delay = backoffDelay(3);
      expect(delay).toBeGreaterThanOrEqual(1000);
      expect(delay).toBeLessThanOrEqual(2000);
    }
  });
});
