/**
 * One token is this many units of a bucket's debt. A bucket of `size` tokens a minute
 * refills `size` units a millisecond, so with whole milliseconds every quantity below is a
 * whole number and the arithmetic is exact (no token lost or gained to rounding).
 */
const UNITS_PER_TOKEN = 60_000;
/**
 * Each take looks at this many stored buckets, the next ones in a round over the map, and
 * drops those that have refilled. One take stores at most one bucket and looks at two, so
 * the map holds at most about twice the buckets not yet full, and no request pays for
 * sweeping more than two entries (no pause under a flood of new keys).
 */
const SWEEP_STEP = 2;

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
 * then. A bucket that owes nothing is full and is not stored: entries found full are
 * dropped when read, and every take sweeps the next few in a round over the map
 * (SWEEP_STEP), so memory follows the buckets touched within the last minute.
 */
export class TokenBuckets {
  private readonly debts = new Map<string, Debt>();
  private readonly now: () => Date;
  /** Where the sweep goes on from: a Map iterator stays valid as entries come and go. */
  private cursor: Iterator<[string, Debt]> = this.debts.entries();

  constructor(deps: TokenBucketsDeps = {}) {
    this.now = deps.now ?? (() => new Date());
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
    this.sweepStep(at);
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

  /** What `key` owes at `at`, after refilling since it was last touched; a full bucket is dropped. */
  private owed(key: string, size: number, at: number): number {
    const last = this.debts.get(key);
    if (!last) return 0;
    // A clock that stepped back refills nothing; a bucket that shrank owes at most its size.
    const owed = Math.min(size * UNITS_PER_TOKEN, Math.max(0, last.owed - size * Math.max(0, at - last.at)));
    if (owed === 0) this.debts.delete(key);
    return owed;
  }

  /** Looks at the next SWEEP_STEP buckets of the round and drops the refilled ones. */
  private sweepStep(at: number): void {
    for (let i = 0; i < SWEEP_STEP; i += 1) {
      let next = this.cursor.next();
      if (next.done) {
        // A new round; an empty map ends the step.
        this.cursor = this.debts.entries();
        next = this.cursor.next();
        if (next.done) return;
      }
      const [key, { fullAt }] = next.value;
      if (fullAt <= at) this.debts.delete(key);
    }
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
