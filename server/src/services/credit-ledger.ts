import mongoose from 'mongoose';
import {
  PERFORMANCES,
  type BalanceBody,
  type CreditEntryBody,
  type Performance,
  type UsageBody,
  type UsageFigures,
} from '@atelier/protocol';
import type { AuditActor } from '../models/audit-event.model.js';
import type { CreditEntry } from '../models/credit-entry.model.js';
import type { Models } from '../models/index.js';
import { AppError, conflict, unavailable } from '../errors/app-error.js';
import { createLogger } from '../logging/logger.js';
import { findOwnById } from '../tenancy/find-own-by-id.js';
import { requireTenantId, runAsSystem } from '../tenancy/tenant-context.js';
import type { AuditLog } from './audit-log.js';
import { newId } from './ids.js';

const { trusted } = mongoose;
const log = createLogger('credit-ledger');

/** Appends racing for one seq retry on the new head; this many losses in a row is a fault. */
const MAX_ATTEMPTS = 200;
const DAY_MS = 86_400_000;

/** The running totals as of the newest entry (all zero before the first). */
interface Head {
  seq: number;
  balance: number;
  reserved: number;
}

type Movement = Pick<CreditEntry, 'kind' | 'key' | 'amount' | 'reservedChange' | 'jobId' | 'reason' | 'usage' | 'actor'>;

export interface GrantInput {
  /** Whole credits, more than zero. */
  amount: number;
  reason: string;
  actor: AuditActor;
  /**
   * Makes the grant idempotent: a second grant with the same key changes nothing and
   * answers the first (with a different amount or reason it is a conflict).
   */
  idempotencyKey?: string;
}

export interface GrantResult {
  entry: CreditEntryBody;
  balance: BalanceBody;
  /** True when `idempotencyKey` matched an earlier grant. */
  replayed: boolean;
}

/** How a job's reservation ended: settled (charged) or handed back. */
export type Closing =
  { kind: 'settle'; usage: NonNullable<CreditEntry['usage']> } | { kind: 'release' | 'expire'; reason: string };

/** The ledger keys of a job's two movements: one reservation, then exactly one closing. */
export const reservationKey = (jobId: string) => `reserve:${jobId}`;
export const closingKey = (jobId: string) => `close:${jobId}`;

const SYSTEM_ACTOR: AuditActor = { kind: 'system' };

/**
 * The credits of the tenant in scope: an append-only ledger (credit-entry.model.ts says
 * how concurrent appends are decided). A job's price is reserved at acceptance under
 * `reserve:<jobId>`, and its reservation is closed exactly once under `close:<jobId>`
 * (settled, released or expired: whichever is appended first stands, and any later
 * attempt, a replay or a different ending, meets the key and changes nothing). A
 * reservation checks `available` against the head it appends to, so a lost race
 * re-checks against the new head and the balance is never overdrawn.
 */
export class CreditLedger {
  constructor(private readonly deps: { models: Models; audit: AuditLog; now?: () => Date }) {}

  async grant(input: GrantInput): Promise<GrantResult> {
    const key = `grant:${input.idempotencyKey ?? newId('grt')}`;
    const { entry, replayed } = await this.append({
      kind: 'grant',
      key,
      amount: input.amount,
      reservedChange: 0,
      jobId: null,
      reason: input.reason,
      usage: null,
      actor: input.actor,
    });
    if (replayed && (entry.amount !== input.amount || entry.reason !== input.reason)) {
      throw conflict('This idempotency key was already used for a different grant.');
    }
    if (!replayed) {
      await this.deps.audit.record('credits.granted', {
        actor: input.actor,
        target: { kind: 'credits', id: entry._id },
        details: { amount: entry.amount, reason: entry.reason, seq: entry.seq, balance: entry.balance },
      });
    }
    return { entry: entryBody(entry), balance: await this.balance(), replayed };
  }

  /**
   * Reserves `amount` for the job, or refuses with `insufficient_credits` when the
   * tenant's available credits do not cover it. Idempotent per job: a second call
   * answers the first reservation.
   */
  async reserve(jobId: string, amount: number): Promise<CreditEntryBody> {
    const { entry } = await this.append(
      {
        kind: 'reserve',
        key: reservationKey(jobId),
        amount: 0,
        reservedChange: amount,
        jobId,
        reason: '',
        usage: null,
        actor: SYSTEM_ACTOR,
      },
      (head) => {
        const available = head.balance - head.reserved;
        if (available < amount) {
          throw new AppError(
            'insufficient_credits',
            `This generation costs ${amount} credit(s); ${Math.max(0, available)} available.`,
            { details: { required: amount, available: Math.max(0, available) } },
          );
        }
      },
    );
    await this.hint(`reserve:${requireTenantId()}:${jobId}`, entry.seq);
    return entryBody(entry);
  }

  /**
   * Closes the job's reservation: a settlement charges the reserved amount, a release
   * or expiry hands it back. Once per job, whoever calls and however often: answers
   * the closing that stands (which may be another kind, appended first), or null when
   * the job has no reservation.
   */
  async close(jobId: string, closing: Closing): Promise<CreditEntryBody | null> {
    const reservation = await this.reservationOf(jobId);
    if (!reservation) return null;
    // Announced before the entry, so that `closed` never misses a closing that exists.
    await this.hint(`closing:${requireTenantId()}:${jobId}`, 0);
    const reserved = reservation.reservedChange;
    const { entry, replayed } = await this.append({
      kind: closing.kind,
      key: closingKey(jobId),
      amount: closing.kind === 'settle' ? -reserved : 0,
      reservedChange: -reserved,
      jobId,
      reason: closing.kind === 'settle' ? '' : closing.reason,
      usage: closing.kind === 'settle' ? closing.usage : null,
      actor: SYSTEM_ACTOR,
    });
    if (!replayed) log.debug({ jobId, kind: entry.kind, amount: reserved }, 'reservation closed');
    return entryBody(entry);
  }

  /** Whether the job's reservation has been (or is being) closed: settled, released or expired. */
  async closed(jobId: string): Promise<boolean> {
    return (await findOwnById(this.deps.models.CreditHint, `closing:${requireTenantId()}:${jobId}`)) !== null;
  }

  async balance(): Promise<BalanceBody> {
    const head = await this.head();
    return { balance: head.balance, reserved: head.reserved, available: head.balance - head.reserved };
  }

  /** Newest first; the cursor is the seq of the last entry of the previous page. */
  async entries(limit: number, cursor?: number): Promise<{ data: CreditEntryBody[]; nextCursor: string | null }> {
    const filter = cursor === undefined ? {} : { seq: trusted({ $lt: cursor }) };
    const page = await this.deps.models.CreditEntry.find(filter)
      .sort({ seq: -1 })
      .limit(limit + 1)
      .lean();
    const data = page.slice(0, limit);
    return { data: data.map(entryBody), nextCursor: page.length > limit ? String(data.at(-1)!.seq) : null };
  }

  /**
   * Settled work per UTC day and preset, `from` and `to` inclusive (`YYYY-MM-DD`). Every
   * day of the range is listed, with zeros where nothing was settled.
   */
  async usage(from: string, to: string): Promise<UsageBody> {
    const start = Date.parse(`${from}T00:00:00Z`);
    const end = Date.parse(`${to}T00:00:00Z`) + DAY_MS;
    const settled = await this.deps.models.CreditEntry.find({
      kind: 'settle',
      at: trusted({ $gte: new Date(start), $lt: new Date(end) }),
    })
      .select({ amount: 1, usage: 1, at: 1 })
      .lean();
    const zero = (): UsageFigures => ({ credits: 0, images: 0, generations: 0 });
    const days: UsageBody['days'] = [];
    for (let at = start; at < end; at += DAY_MS) {
      const presets = Object.fromEntries(PERFORMANCES.map((preset) => [preset, zero()])) as Record<Performance, UsageFigures>;
      days.push({ date: new Date(at).toISOString().slice(0, 10), ...zero(), presets });
    }
    const total = zero();
    for (const entry of settled) {
      const day = days[Math.floor((entry.at.getTime() - start) / DAY_MS)];
      const figures = { credits: -entry.amount, images: entry.usage?.images ?? 0, generations: 1 };
      for (const target of [total, day, entry.usage ? day?.presets[entry.usage.preset] : undefined]) {
        if (!target) continue;
        target.credits += figures.credits;
        target.images += figures.images;
        target.generations += figures.generations;
      }
    }
    return { from, to, total, days };
  }

  /**
   * Inserts the movement as entry `head.seq + 1` (`_id: <tenantId>:<seq>`), with the
   * head's totals plus its own, so appends form one sequence however many race. A
   * duplicate key means another append took this seq first (read the new head and try
   * again), or the movement's key is in the ledger already (answered as a replay).
   * Every read on the usual path is by `_id`; the scans (`findByKey`, `scanHead`) run
   * only for replays and ledgers written before entries were numbered by `_id`.
   */
  private async append(movement: Movement, check?: (head: Head) => void): Promise<{ entry: CreditEntry; replayed: boolean }> {
    const { CreditEntry: Entries } = this.deps.models;
    const tenantId = requireTenantId();
    let head = await this.head();
    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt += 1) {
      try {
        check?.(head);
      } catch (error) {
        // A retry of a movement that went in earlier is answered, not refused.
        const existing = await this.findByKey(movement.key);
        if (existing) return { entry: existing, replayed: true };
        throw error;
      }
      const balance = head.balance + movement.amount;
      const reserved = head.reserved + movement.reservedChange;
      if (reserved < 0 || balance < reserved) {
        // Only a movement applied twice can do this: it is in the ledger already.
        const existing = await this.findByKey(movement.key);
        if (existing) return { entry: existing, replayed: true };
        throw new AppError('internal', `ledger movement ${movement.key} would leave reserved ${reserved} of ${balance}`, {
          expose: false,
        });
      }
      const seq = head.seq + 1;
      const entry = { _id: entryId(tenantId, seq), seq, ...movement, balance, reserved, at: this.now() };
      try {
        const created = await Entries.create(entry);
        await this.hint(`head:${tenantId}`, seq);
        if (attempt > 1) log.debug({ losses: attempt - 1, seq }, 'ledger append won after lost races');
        return { entry: created.toObject(), replayed: false };
      } catch (error) {
        if ((error as { code?: number }).code !== 11000) throw error;
      }
      const taken = await findOwnById(Entries, entry._id);
      if (taken?.key === movement.key) return { entry: taken, replayed: true };
      if (taken) {
        head = await this.probe(taken);
        continue;
      }
      // The seq was free, so the key was not: the movement is in the ledger already
      // (or a ledger from before `_id` numbering holds this seq under another `_id`).
      const existing = await this.findByKey(movement.key);
      if (existing) return { entry: existing, replayed: true };
      head = await this.scanHead();
    }
    throw unavailable('The credit ledger is busy; try again.');
  }

  /** The newest entry's totals: from the head hint, probing forward by `_id`. */
  private async head(): Promise<Head> {
    const tenantId = requireTenantId();
    const hint = await findOwnById(this.deps.models.CreditHint, `head:${tenantId}`);
    if (!hint || hint.seq === 0) {
      const first = await findOwnById(this.deps.models.CreditEntry, entryId(tenantId, 1));
      if (first) return this.probe(first);
      // Empty, or written before `_id` numbering.
      return this.scanHead();
    }
    const known = await findOwnById(this.deps.models.CreditEntry, entryId(tenantId, hint.seq));
    return known ? this.probe(known) : this.scanHead();
  }

  /** Walks forward from a known entry to the newest. */
  private async probe(from: CreditEntry): Promise<Head> {
    const tenantId = requireTenantId();
    let newest = from;
    for (;;) {
      const next = await findOwnById(this.deps.models.CreditEntry, entryId(tenantId, newest.seq + 1));
      if (!next) return { seq: newest.seq, balance: newest.balance, reserved: newest.reserved };
      newest = next;
    }
  }

  private async scanHead(): Promise<Head> {
    const head = await this.deps.models.CreditEntry.findOne()
      .sort({ seq: -1 })
      .select({ seq: 1, balance: 1, reserved: 1 })
      .lean();
    return head ? { seq: head.seq, balance: head.balance, reserved: head.reserved } : { seq: 0, balance: 0, reserved: 0 };
  }

  private async findByKey(key: string): Promise<CreditEntry | null> {
    return this.deps.models.CreditEntry.findOne({ key }).lean();
  }

  /** The job's reservation: through its hint, or (a crash lost the hint) by its key. */
  private async reservationOf(jobId: string): Promise<CreditEntry | null> {
    const tenantId = requireTenantId();
    const hint = await findOwnById(this.deps.models.CreditHint, `reserve:${tenantId}:${jobId}`);
    const hinted = hint ? await findOwnById(this.deps.models.CreditEntry, entryId(tenantId, hint.seq)) : null;
    if (hinted?.key === reservationKey(jobId)) return hinted;
    return this.findByKey(reservationKey(jobId));
  }

  /** Raises a hint's seq (creating the hint); a lost race leaves it lower, which only costs a probe. */
  private async hint(id: string, seq: number): Promise<void> {
    const tenantId = requireTenantId();
    // By `_id` alone (see find-own-by-id.ts): a hint's id names its tenant, so the filter
    // cannot reach another tenant's hint, and an upsert stamps the tenant.
    await runAsSystem('write a credit hint of the tenant its id names', () =>
      this.deps.models.CreditHint.updateOne({ _id: id }, { $max: { seq }, $setOnInsert: { tenantId } }, { upsert: true }),
    ).catch((error: unknown) => {
      if ((error as { code?: number }).code !== 11000) throw error;
    });
  }

  private now(): Date {
    return (this.deps.now ?? (() => new Date()))();
  }
}

const entryId = (tenantId: string, seq: number) => `${tenantId}:${seq}`;

export function entryBody(entry: CreditEntry): CreditEntryBody {
  return {
    seq: entry.seq,
    kind: entry.kind,
    amount: entry.amount,
    reservedChange: entry.reservedChange,
    balance: entry.balance,
    reserved: entry.reserved,
    jobId: entry.jobId,
    reason: entry.reason,
    at: entry.at.toISOString(),
  };
}
