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
import { conflict, unavailable } from '../errors/app-error.js';
import { createLogger } from '../logging/logger.js';
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

/**
 * The credits of the tenant in scope: an append-only ledger (credit-entry.model.ts says
 * how concurrent appends are decided). Grants exist now; a job's reserve → settle |
 * release | expire movements are appended the same way, under the keys
 * `<kind>:<jobId>`, and a reservation checks `available` against the head it appends to,
 * so a lost race re-checks against the new head and the balance is never overdrawn.
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
   * Inserts the movement as entry `head.seq + 1`. A duplicate key means either that the
   * movement is already in the ledger (its key exists: answered as a replay) or that
   * another append took this seq first (read the new head and try again).
   */
  private async append(movement: Movement): Promise<{ entry: CreditEntry; replayed: boolean }> {
    const { CreditEntry: Entries } = this.deps.models;
    let losses = 0;
    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt += 1) {
      const head = await this.head();
      const entry = {
        _id: newId('cre'),
        seq: head.seq + 1,
        ...movement,
        balance: head.balance + movement.amount,
        reserved: head.reserved + movement.reservedChange,
        at: (this.deps.now ?? (() => new Date()))(),
      };
      try {
        const created = await Entries.create(entry);
        if (losses > 0) log.debug({ losses, seq: entry.seq }, 'ledger append won after lost races');
        return { entry: created.toObject(), replayed: false };
      } catch (error) {
        if ((error as { code?: number }).code !== 11000) throw error;
      }
      const existing = await Entries.findOne({ key: movement.key }).lean();
      if (existing) return { entry: existing, replayed: true };
      losses += 1;
    }
    throw unavailable('The credit ledger is busy; try again.');
  }

  private async head(): Promise<Head> {
    const head = await this.deps.models.CreditEntry.findOne()
      .sort({ seq: -1 })
      .select({ seq: 1, balance: 1, reserved: 1 })
      .lean();
    return head ? { seq: head.seq, balance: head.balance, reserved: head.reserved } : { seq: 0, balance: 0, reserved: 0 };
  }
}

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
