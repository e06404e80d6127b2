import mongoose from 'mongoose';
import type { Models } from '../models/index.js';
import type { CreditEntry } from '../models/credit-entry.model.js';
import type { Generation } from '../models/generation.model.js';
import { createLogger } from '../logging/logger.js';
import { findOwnById } from '../tenancy/find-own-by-id.js';
import { runAsSystem, runWithTenant } from '../tenancy/tenant-context.js';
import { closingKey, type Closing, type CreditLedger } from './credit-ledger.js';

const { trusted } = mongoose;
const log = createLogger('reservation-sweeper');

/**
 * How long a reservation must have been without a job, or its job finished, before it
 * counts as left behind: a request reserves, then stores its job milliseconds later, and
 * a job's last transition closes its reservation right after it. Until then the normal
 * path is left to do it.
 */
const DEFAULT_ORPHAN_AFTER_MS = 60_000;
/** Reservations read per page while looking for a tenant's open ones, newest first. */
const PAGE = 200;

export interface SweepReport {
  settled: number;
  released: number;
  /** Reservations whose job was never stored, handed back. */
  orphaned: number;
}

export interface ReservationSweeperDeps {
  models: Models;
  ledger: Pick<CreditLedger, 'close' | 'balance'>;
  /** Ends a job stored after its reservation was handed back (tenant id, job id). */
  expireUnstarted(tenantId: string, jobId: string): Promise<boolean>;
  orphanAfterMs?: number;
  now?: () => Date;
}

/**
 * Repairs what a crash can leave in the ledger: a job that finished while its
 * reservation stayed open (the process died between the job's last transition and the
 * ledger entry), and a reservation whose job was never stored (the process died
 * between the two). Every repair is the same keyed closing the normal path appends,
 * so a sweeper racing the normal path, or another sweeper, changes nothing twice.
 */
export class ReservationSweeper {
  constructor(private readonly deps: ReservationSweeperDeps) {}

  async sweep(): Promise<SweepReport> {
    const report: SweepReport = { settled: 0, released: 0, orphaned: 0 };
    const tenants = await runAsSystem('sweep reservations: tenants', () =>
      this.deps.models.Tenant.find().select({ _id: 1 }).lean(),
    );
    for (const { _id: tenantId } of tenants) {
      await runWithTenant(tenantId, () => this.sweepTenant(tenantId, report));
    }
    if (report.settled + report.released + report.orphaned > 0) log.warn({ ...report }, 'repaired credit reservations');
    return report;
  }

  private async sweepTenant(tenantId: string, report: SweepReport): Promise<void> {
    const { reserved } = await this.deps.ledger.balance();
    if (reserved === 0) return;
    for (const reservation of await this.openReservations(reserved)) {
      const jobId = reservation.jobId!;
      const now = (this.deps.now ?? (() => new Date()))().getTime();
      const grace = this.deps.orphanAfterMs ?? DEFAULT_ORPHAN_AFTER_MS;
      const job = await findOwnById(this.deps.models.Generation, jobId);
      if (job) {
        const closing = closingFor(job);
        if (!closing || now - (job.finishedAt?.getTime() ?? now) < grace) continue;
        await this.deps.ledger.close(jobId, closing);
        report[closing.kind === 'settle' ? 'settled' : 'released'] += 1;
        continue;
      }
      if (now - reservation.at.getTime() < grace) continue;
      await this.deps.ledger.close(jobId, { kind: 'release', reason: 'the job was never stored' });
      report.orphaned += 1;
      // The request may have stored its job after all, between the read above and the
      // release: it must not run on a reservation that is gone (generation-service.ts
      // checks the other order).
      if (await findOwnById(this.deps.models.Generation, jobId)) await this.deps.expireUnstarted(tenantId, jobId);
    }
  }

  /**
   * The tenant's reservations that have no closing, newest first, read until they add
   * up to what the ledger's head says is reserved (or the reservations run out).
   */
  private async openReservations(reserved: number): Promise<CreditEntry[]> {
    const { CreditEntry: Entries } = this.deps.models;
    const open: CreditEntry[] = [];
    let sum = 0;
    let before: number | undefined;
    while (sum < reserved) {
      const page = await Entries.find({ kind: 'reserve', ...(before === undefined ? {} : { seq: trusted({ $lt: before }) }) })
        .sort({ seq: -1 })
        .limit(PAGE)
        .lean();
      if (page.length === 0) break;
      before = page.at(-1)!.seq;
      const closed = await Entries.find({ key: trusted({ $in: page.map((entry) => closingKey(entry.jobId!)) }) })
        .select({ jobId: 1 })
        .lean();
      const closedJobs = new Set(closed.map((entry) => entry.jobId));
      for (const entry of page) {
        if (closedJobs.has(entry.jobId)) continue;
        open.push(entry);
        sum += entry.reservedChange;
      }
    }
    return open;
  }
}

function closingFor(job: Pick<Generation, 'status' | 'resolved' | 'images'>): Closing | null {
  switch (job.status) {
    case 'queued':
    case 'running':
      return null;
    case 'succeeded':
      return { kind: 'settle', usage: { preset: job.resolved.performance, images: job.images.length } };
    case 'expired':
      return { kind: 'expire', reason: 'not started before its deadline' };
    default:
      return { kind: 'release', reason: job.status };
  }
}
