import mongoose from 'mongoose';
import { runAsSystem, type Database, type Generation } from '@atelier/server';

const { trusted } = mongoose;

/** What the clients saw: every request sent, and how each one ended. */
export interface ClientHistory {
  /** Requests sent (each with its own Idempotency-Key, however often it was retried). */
  attempted: number;
  /** The ids of the requests answered 202, with the tenant that made each. */
  acknowledged: Map<string, string>;
  /** The requests refused for good, by HTTP status. */
  refused: Record<number, number>;
  /** Requests that never got a definite answer. */
  indeterminate: number;
}

/**
 * Jepsen-style counters of a chaos run, read from the database once the run is over.
 * Every "must be zero" counter counts jobs (or tenants), each at most once.
 */
export interface ChaosCounters {
  attempted: number;
  acknowledged: number;
  refused: Record<number, number>;
  indeterminate: number;
  succeeded: number;
  /** Failed after `maxAttempts` retryable attempts (every one lost to a kill, a stall or the restart). */
  exhausted: number;
  /** Acknowledged, and missing or not in a terminal state. */
  lost: number;
  /** Ended in a way the run does not cause: cancelled, expired, failed for good before its attempts ran out, or failed with images. */
  wrongEnd: number;
  /** Stored, but no acknowledged request names it (a retried request created a second job). */
  phantoms: number;
  /** More images than asked, images from two attempts or not from the winning one, an index twice, or more than one completion. */
  duplicatedResults: number;
  /** A succeeded job with fewer images than asked. */
  incompleteResults: number;
  /** More than one reservation or closing for a job, or a settlement and a release. */
  doubleCharges: number;
  /** A settlement of a job that did not succeed, a release of one that did, or a charge other than its price. */
  wrongCharges: number;
  /** Reservations without a closing. */
  orphanedReservations: number;
  /** Tenants whose entries do not add up to their running totals (seq gaps, sums), that stay reserved, or whose reported balance is not the ledger's. */
  ledgerMismatches: number;
}

const TERMINAL = new Set(['succeeded', 'failed', 'canceled', 'expired']);

/**
 * Reads the jobs, their transitions and the tenants' ledgers, and counts. `reported` is
 * what `GET /v1/balance` says for each tenant, which must be the ledger's last totals.
 */
export async function countChaos(
  database: Database,
  reported: Map<string, { balance: number; reserved: number }>,
  history: ClientHistory,
): Promise<ChaosCounters> {
  const tenantIds = [...reported.keys()];
  const { Generation: Jobs, JobTransition, CreditEntry } = database.models;
  const [jobs, transitions, entries] = await runAsSystem('chaos: read the outcome', () =>
    Promise.all([
      Jobs.find({ tenantId: trusted({ $in: tenantIds }) }).lean(),
      JobTransition.find({ tenantId: trusted({ $in: tenantIds }) })
        .select({ jobId: 1, kind: 1, epoch: 1 })
        .lean(),
      CreditEntry.find({ tenantId: trusted({ $in: tenantIds }) })
        .sort({ tenantId: 1, seq: 1 })
        .lean(),
    ]),
  );
  const byId = new Map(jobs.map((job) => [job._id, job]));
  const completions = countBy(transitions.filter((t) => t.kind === 'complete').map((t) => t.jobId));
  const jobEntries = groupBy(
    entries.filter((entry) => entry.jobId !== null),
    (entry) => entry.jobId!,
  );

  const counters: ChaosCounters = {
    attempted: history.attempted,
    acknowledged: history.acknowledged.size,
    refused: history.refused,
    indeterminate: history.indeterminate,
    succeeded: 0,
    exhausted: 0,
    lost: 0,
    wrongEnd: 0,
    phantoms: jobs.filter((job) => !history.acknowledged.has(job._id)).length,
    duplicatedResults: 0,
    incompleteResults: 0,
    doubleCharges: 0,
    wrongCharges: 0,
    orphanedReservations: 0,
    ledgerMismatches: 0,
  };
  for (const id of history.acknowledged.keys()) {
    const job = byId.get(id);
    if (!job || !TERMINAL.has(job.status)) counters.lost += 1;
    else if (job.status === 'succeeded') counters.succeeded += 1;
    else if (exhausted(job)) counters.exhausted += 1;
    else counters.wrongEnd += 1;
  }
  for (const job of jobs) {
    if (duplicated(job, completions.get(job._id) ?? 0)) counters.duplicatedResults += 1;
    if (job.status === 'succeeded' && job.images.length < job.resolved.imageCount) counters.incompleteResults += 1;
    const movements = jobEntries.get(job._id) ?? [];
    const reserves = movements.filter((entry) => entry.kind === 'reserve');
    const closings = movements.filter((entry) => entry.kind !== 'reserve');
    if (reserves.length > 1 || closings.length > 1) counters.doubleCharges += 1;
    if (reserves.length > 0 && closings.length === 0) counters.orphanedReservations += 1;
    const settled = closings.some((entry) => entry.kind === 'settle');
    const charged = -closings.reduce((sum, entry) => sum + entry.amount, 0);
    const handedBack = closings.some((entry) => entry.kind !== 'settle');
    if (
      settled !== (job.status === 'succeeded') ||
      (handedBack && job.status === 'succeeded') ||
      charged !== (settled ? job.cost.credits : 0) ||
      reserves.some((entry) => entry.reservedChange !== job.cost.credits)
    )
      counters.wrongCharges += 1;
  }
  // Reservations of jobs that were never stored (a request that died between the two).
  for (const [jobId, movements] of jobEntries) {
    if (byId.has(jobId)) continue;
    if (movements.some((entry) => entry.kind === 'reserve') && movements.every((entry) => entry.kind === 'reserve'))
      counters.orphanedReservations += 1;
  }
  const ledgers = groupBy(entries, (entry) => entry.tenantId);
  for (const [tenantId, balance] of reported) {
    const ledger = ledgers.get(tenantId) ?? [];
    const last = ledger.at(-1);
    if (!consistent(ledger) || last?.balance !== balance.balance || last.reserved !== balance.reserved)
      counters.ledgerMismatches += 1;
  }
  return counters;
}

/** Failed for good only because every attempt was lost: retryable, attempts used up, nothing delivered. */
function exhausted(job: Generation): boolean {
  return job.status === 'failed' && job.error?.retryable === true && job.attempts >= job.maxAttempts && job.images.length === 0;
}

function duplicated(job: Generation, completions: number): boolean {
  const epochs = new Set(job.images.map((image) => epochOf(image.storageKey)));
  const indexes = new Set(job.images.map((image) => image.index));
  return (
    completions > 1 ||
    job.images.length > job.resolved.imageCount ||
    indexes.size < job.images.length ||
    epochs.size > 1 ||
    (epochs.size === 1 && !epochs.has(job.epoch))
  );
}

/** Images are stored as `…/<epoch>-<index>-<imageId>.<format>` (runner-session.ts). */
function epochOf(storageKey: string): number {
  return Number(storageKey.split('/').at(-1)!.split('-')[0]);
}

/** Seq 1, 2, 3… and every entry's totals equal the sums of the movements up to it; nothing left reserved. */
function consistent(
  ledger: { seq: number; amount: number; reservedChange: number; balance: number; reserved: number }[],
): boolean {
  let balance = 0;
  let reserved = 0;
  for (const [index, entry] of ledger.entries()) {
    balance += entry.amount;
    reserved += entry.reservedChange;
    if (entry.seq !== index + 1 || entry.balance !== balance || entry.reserved !== reserved) return false;
    if (reserved < 0 || balance < reserved) return false;
  }
  return reserved === 0;
}

function countBy(values: string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const value of values) counts.set(value, (counts.get(value) ?? 0) + 1);
  return counts;
}

function groupBy<T>(items: T[], key: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const group = groups.get(key(item));
    if (group) group.push(item);
    else groups.set(key(item), [item]);
  }
  return groups;
}
