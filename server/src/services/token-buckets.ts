/**
 * One token is this many units of a bucket's debt. A bucket of `size` tokens a minute
 * refills `size` units a millisecond, so with whole milliseconds every quantity below is a
 * whole number and the arithmetic is exact (no token lost or gained to rounding).
 */
const UNITS_PER_TOKEN = 60_000;
/** Below this many entries a sweep waits for its minute: sweeping a small map buys nothing. */
const MIN_SWEEP_ENTRIES = 1_024;
/** Every bucket, whatever its size, refills whole within a minute of its last take. */
const SWEEP_EVERY_MS = 60_000;

/** A bucket after a take or a refund. */
export interface TokenBucketState {
  ok: boolean;
  /** Whole tokens in the bucket now. */
  tokens: number;
  /** Milliseconds until the bucket is full again. */
  fullInMs: number;
  /** Milliseconds until it holds the tokens a refused take asked for (0 when it was taken). */
  retryInMs: number;
}

export interface TokenBucketsDeps {
  /** The clock the buckets refill by (tests step it instead of waiting). */
  now?: () => Date;
}

/**
 * Token buckets by key, in memory: a bucket holds at most `size` tokens and refills
 * continuously at `size` a minute, so a client gets at most `size` requests at once and
 * then one every 60/size seconds, however its requests fall on the clock.
 *
 * This is GCRA kept as a debt: what the bucket owes (tokens taken and not yet refilled)
 * at the time it was last touched, which is the theoretical arrival time's distance from
 * then. A bucket that owes nothing is full and is not stored, so memory holds only the
 * buckets touched within the last minute: entries found full are dropped when read, and a
 * sweep drops the rest once a minute and whenever the map has doubled since the last one.
 */
export class TokenBuckets {
  private readonly debts = new Map<string, Debt>();
  private readonly now: () => Date;
  private lastSweep: number;
  private sweptSize = 0;

  constructor(deps: TokenBucketsDeps = {}) {
    this.now = deps.now ?? (() => new Date());
    this.lastSweep = this.now().getTime();
  }

  /** How many buckets are held (the ones not full). */
  get size(): number {
    return this.debts.size;
  }

  /**
   * Takes `cost` tokens from the bucket `key` of `size` tokens a minute, or none when it
   * holds fewer (then `retryInMs` says when it will hold them).
   */
  take(key: string, size: number, cost: number): TokenBucketState {
    const at = this.now().getTime();
    this.maybeSweep(at);
    const owed = this.owed(key, size, at);
    const capacity = size * UNITS_PER_TOKEN;
    const wanted = cost * UNITS_PER_TOKEN;
    if (owed + wanted > capacity) {
      return { ...stateOf(owed, size), ok: false, retryInMs: Math.ceil((owed + wanted - capacity) / size) };
    }
    this.debts.set(key, debt(owed + wanted, size, at));
    return { ...stateOf(owed + wanted, size), ok: true, retryInMs: 0 };
  }

  /** Gives back `cost` tokens a refused request took: never more than makes the bucket full. */
  give(key: string, size: number, cost: number): TokenBucketState {
    const at = this.now().getTime();
    const owed = Math.max(0, this.owed(key, size, at) - cost * UNITS_PER_TOKEN);
    if (owed === 0) this.debts.delete(key);
    else this.debts.set(key, debt(owed, size, at));
    return { ...stateOf(owed, size), ok: true, retryInMs: 0 };
  }

  /** Drops every bucket that has refilled; returns how many remain. */
  sweep(): number {
    const at = this.now().getTime();
    this.lastSweep = at;
    for (const [key, { fullAt }] of this.debts) if (fullAt <= at) this.debts.delete(key);
    this.sweptSize = this.debts.size;
    return this.debts.size;
  }

  /** What `key` owes at `at`, after refilling since it was last touched; a full bucket is dropped. */
  private owed(key: string, size: number, at: number): number {
    const last = this.debts.get(key);
    if (!last) return 0;
    // A clock that stepped back refills nothing; a bucket that shrank owes at most its size.
    const owed = Math.min(size * UNITS_PER_TOKEN, Math.max(0, last.owed - size * Math.max(0, at - last.at)));
    if (owed === 0) this.debts.delete(key);
    return owed;
  }

  private maybeSweep(at: number): void {
    const grown = this.debts.size >= MIN_SWEEP_ENTRIES && this.debts.size >= 2 * this.sweptSize;
    if (grown || at - this.lastSweep >= SWEEP_EVERY_MS) this.sweep();
  }
}

interface Debt {
  /** Units owed at `at` (a token is UNITS_PER_TOKEN). */
  owed: number;
  at: number;
  /** When it will owe nothing, at the size it had then: the sweep needs no size. */
  fullAt: number;
}

function debt(owed: number, size: number, at: number): Debt {
  return { owed, at, fullAt: at + Math.ceil(owed / size) };
}

function stateOf(owed: number, size: number): Omit<TokenBucketState, 'ok' | 'retryInMs'> {
  return { tokens: Math.floor((size * UNITS_PER_TOKEN - owed) / UNITS_PER_TOKEN), fullInMs: Math.ceil(owed / size) };
}
