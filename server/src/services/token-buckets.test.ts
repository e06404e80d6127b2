import { beforeEach, describe, expect, it } from 'vitest';
import { TokenBuckets } from './token-buckets.js';

/** The buckets' clock, stepped by the tests: nothing here waits on real time. */
let clock = 0;
let buckets: TokenBuckets;

beforeEach(() => {
  clock = Date.UTC(2026, 0, 1);
  buckets = new TokenBuckets({ now: () => new Date(clock) });
});

/** Takes `count` single tokens in a row and returns how many were admitted. */
function burst(key: string, size: number, count: number, cost = 1): number {
  let admitted = 0;
  for (let i = 0; i < count; i += 1) if (buckets.take(key, size, cost).ok) admitted += 1;
  return admitted;
}

describe('token buckets', () => {
  it('admits exactly the size at once, then refuses until a token has refilled', () => {
    expect(burst('a', 6, 6)).toBe(6);
    const refused = buckets.take('a', 6, 1);
    // 6 a minute: one token every 10 s; the bucket is full again a minute after the burst.
    expect(refused).toEqual({ ok: false, tokens: 0, fullInMs: 60_000, retryInMs: 10_000 });

    clock += 9_999;
    expect(buckets.take('a', 6, 1)).toMatchObject({ ok: false, retryInMs: 1 });
    clock += 1;
    expect(buckets.take('a', 6, 1)).toEqual({ ok: true, tokens: 0, fullInMs: 60_000, retryInMs: 0 });
  });

  it('admits exactly k more after k·60/size seconds, for sizes that do not divide a minute evenly', () => {
    for (const size of [1, 6, 7, 13, 1_200]) {
      for (const k of [1, 2, 3].filter((k) => k <= size)) {
        const key = `size-${size}-${k}`;
        expect(burst(key, size, size + 1)).toBe(size);
        // k tokens refill in k·60/size s: a millisecond short of it is one fewer.
        const ms = Math.ceil((k * 60_000) / size);
        clock += ms - 1;
        expect(burst(key, size, k)).toBe(k - 1);
        clock += 1;
        expect(burst(key, size, k)).toBe(1);
      }
    }
  });

  it('never admits twice the size across a minute boundary, and no window lets more through than the size plus what refilled in it', () => {
    const size = 60;
    // A fixed window started by this request would refill whole at 60 s: 60 at 59.9 s, 60 more at 60.1 s.
    expect(burst('edge', size, 1)).toBe(1);
    clock += 59_900;
    expect(burst('edge', size, 2 * size)).toBe(size);
    clock += 200;
    // 0.2 s of refill is 0.2 of a token: none whole.
    expect(burst('edge', size, 2 * size)).toBe(0);
    clock += 800;
    expect(burst('edge', size, 2 * size)).toBe(1);

    // A greedy client for three minutes, every 0.1 s, starting on a full bucket.
    const admitted: { at: number; count: number }[] = [];
    const start = clock + 60_000;
    for (clock = start; clock < start + 180_000; clock += 100) {
      admitted.push({ at: clock, count: burst('greedy', size, 2 * size) });
    }
    for (const windowMs of [1_000, 10_000, 60_000]) {
      for (const { at } of admitted) {
        const inWindow = admitted.filter((entry) => entry.at >= at && entry.at <= at + windowMs);
        const total = inWindow.reduce((sum, entry) => sum + entry.count, 0);
        expect(total).toBeLessThanOrEqual(size + (windowMs * size) / 60_000);
      }
    }
    // …and it does get that: the size at once, then one a second.
    expect(admitted.reduce((sum, entry) => sum + entry.count, 0)).toBe(size + 179);
  });

  it('reports whole tokens left and the time until full, and asks for the wait the refused cost needs', () => {
    expect(buckets.take('c', 10, 4)).toEqual({ ok: true, tokens: 6, fullInMs: 24_000, retryInMs: 0 });
    expect(buckets.take('c', 10, 4)).toEqual({ ok: true, tokens: 2, fullInMs: 48_000, retryInMs: 0 });
    // 2 tokens there, 4 wanted: 2 more refill in 12 s (one per 6 s).
    expect(buckets.take('c', 10, 4)).toEqual({ ok: false, tokens: 2, fullInMs: 48_000, retryInMs: 12_000 });
    clock += 3_000;
    expect(buckets.take('c', 10, 4)).toEqual({ ok: false, tokens: 2, fullInMs: 45_000, retryInMs: 9_000 });
    clock += 9_000;
    expect(buckets.take('c', 10, 4)).toEqual({ ok: true, tokens: 0, fullInMs: 60_000, retryInMs: 0 });
  });

  it('charges a cost of N as N tokens: a size of 6 at cost 2 admits 3 at once, then one every 20 s', () => {
    expect(burst('n', 6, 4, 2)).toBe(3);
    clock += 10_000;
    expect(burst('n', 6, 1, 2)).toBe(0);
    clock += 10_000;
    expect(burst('n', 6, 2, 2)).toBe(1);
  });

  it('takes back a refund to what the bucket held, never beyond full', () => {
    expect(burst('r', 4, 4)).toBe(4);
    expect(buckets.give('r', 4, 1)).toMatchObject({ tokens: 1, fullInMs: 45_000 });
    expect(burst('r', 4, 2)).toBe(1);

    // A refund larger than what is owed leaves a full bucket (not one above its size).
    clock += 15_000;
    expect(buckets.give('r', 4, 3)).toEqual({ ok: true, tokens: 4, fullInMs: 0, retryInMs: 0 });
    expect(buckets.size).toBe(0);
    expect(burst('r', 4, 5)).toBe(4);
  });

  it('keeps buckets apart by key', () => {
    expect(burst('one', 2, 3)).toBe(2);
    expect(burst('two', 2, 3)).toBe(2);
  });

  it('keeps no state for a full bucket, and a sweep drops the ones that refilled: memory stays bounded under a flood of keys', () => {
    let admitted = 0;
    for (let i = 0; i < 100_000; i += 1) if (buckets.take(`198.51.${i}`, 30, 1).ok) admitted += 1;
    expect(admitted).toBe(100_000);
    // Flooding triggers sweeps as the map grows, but nothing has refilled yet.
    expect(buckets.size).toBe(100_000);

    clock += 2_000;
    // One token of 30 a minute refills in 2 s: every bucket is full again.
    expect(buckets.sweep()).toBe(0);

    // A bucket read once full is dropped too, without waiting for a sweep.
    buckets.take('x', 60, 1);
    clock += 1_000;
    expect(buckets.take('y', 60, 1).ok).toBe(true);
    expect(buckets.size).toBe(2);
    expect(buckets.take('x', 60, 1)).toMatchObject({ ok: true, tokens: 59 });
    expect(buckets.size).toBe(2);
  });

  it('sweeps by itself once a minute has passed since the last sweep, on the next take', () => {
    for (let i = 0; i < 500; i += 1) buckets.take(`k${i}`, 1, 1);
    expect(buckets.size).toBe(500);
    clock += 59_999;
    buckets.take('late', 1, 1);
    expect(buckets.size).toBe(501);
    clock += 1;
    buckets.take('later', 1, 1);
    // The 500 owed one token each of 1 a minute: all full at 60 s, swept; 'late' still owes.
    expect(buckets.size).toBe(2);
  });

  it('sweeps when the map has doubled since the last sweep, without waiting for the minute', () => {
    for (let i = 0; i < 1_000; i += 1) buckets.take(`early${i}`, 600, 1);
    clock += 100;
    // The early ones are full again (one token of 600 a minute in 0.1 s); the take that finds 1 024 entries sweeps them.
    for (let i = 0; i < 24; i += 1) buckets.take(`late${i}`, 600, 1);
    expect(buckets.size).toBe(1_024);
    buckets.take('last', 600, 1);
    expect(buckets.size).toBe(25);
  });

  it('a bucket that shrank owes at most its new size; a clock stepped back refills nothing', () => {
    expect(burst('s', 10, 10)).toBe(10);
    expect(buckets.take('s', 5, 1)).toMatchObject({ ok: false, tokens: 0, fullInMs: 60_000 });
    clock -= 30_000;
    expect(buckets.take('s', 5, 1)).toMatchObject({ ok: false, tokens: 0 });
  });
});
