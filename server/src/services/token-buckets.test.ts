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

  it('keeps no state for a full bucket, and takes sweep the refilled ones a few at a time: memory stays bounded under a flood of keys', () => {
    let admitted = 0;
    for (let i = 0; i < 100_000; i += 1) if (buckets.take(`198.51.${i}`, 30, 1).ok) admitted += 1;
    expect(admitted).toBe(100_000);
    // Nothing has refilled yet: every bucket is held.
    expect(buckets.size).toBe(100_000);

    clock += 2_000;
    // One token of 30 a minute refills in 2 s: every bucket is full again. A take drops two
    // of them (never the whole map at once), and stores its own.
    buckets.take('first', 30, 1);
    expect(buckets.size).toBe(100_000 - 2 + 1);
    // As many takes of new keys as there were old ones go round the map once: all 100 000
    // are dropped, and only the new ones (still owing) remain.
    for (let i = 1; i < 100_000; i += 1) buckets.take(`203.0.${i}`, 30, 1);
    expect(buckets.size).toBe(100_000);

    // A bucket read once full is dropped too, without waiting for a sweep.
    clock += 2_000;
    buckets.take('x', 60, 1);
    clock += 1_000;
    buckets.take('x', 60, 1);
    expect(buckets.take('x', 60, 1)).toMatchObject({ ok: true, tokens: 58 });
  });

  it('a bucket still owing is passed over, and the sweep goes on to those behind it', () => {
    // One token of 1 a minute: owed for 60 s.
    buckets.take('slow', 1, 1);
    // One token of 600 a minute: full again 100 ms later.
    for (let i = 0; i < 1_000; i += 1) buckets.take(`early${i}`, 600, 1);
    clock += 100;
    // 1 001 takes look at 2 002 entries: a round over the 1 001 stored before, whatever
    // the round's start, and some late ones. Only the early ones had refilled.
    for (let i = 0; i < 1_001; i += 1) buckets.take(`late${i}`, 600, 1);
    expect(buckets.size).toBe(1 + 1_001);
    expect(buckets.take('slow', 1, 1)).toMatchObject({ ok: false, tokens: 0 });
  });

  it('a bucket that shrank owes at most its new size; a clock stepped back refills nothing', () => {
    expect(burst('s', 10, 10)).toBe(10);
    expect(buckets.take('s', 5, 1)).toMatchObject({ ok: false, tokens: 0, fullInMs: 60_000 });
    clock -= 30_000;
    expect(buckets.take('s', 5, 1)).toMatchObject({ ok: false, tokens: 0 });
  });
});
