import { setTimeout as sleep } from 'node:timers/promises';
import mongoose from 'mongoose';
import type { Models } from '../models/index.js';
import type { Generation } from '../models/generation.model.js';
import type { JobSet, JobTransition, TransitionKind } from '../models/job-transition.model.js';
import { createLogger } from '../logging/logger.js';
import { findOwnById } from '../tenancy/find-own-by-id.js';
import { runWithTenant } from '../tenancy/tenant-context.js';

const { trusted } = mongoose;
const log = createLogger('job-transitions');

/**
 * How old a recorded but unapplied transition must be before another writer concludes
 * that its writer died between recording and applying it, and applies it in its place.
 * Applying takes one single-document update, milliseconds even under load. A writer
 * that is alive but stalled for this long between its insert and its update is then
 * rolled forward by someone else; both apply the same absolute values under the same
 * `{_id, rev}` filter, so that is harmless. What remains is a FerretDB update command
 * whose own read → write-back takes longer than this while a later transition lands in
 * between: negligible. Processes on different machines must keep their clocks well
 * within this window of each other.
 */
export const ROLL_FORWARD_AFTER_MS = 15_000;

/** A writer that finds a revision taken waits for its holder at most this long beyond the roll-forward window. */
const MAX_WAIT_MS = ROLL_FORWARD_AFTER_MS + 5_000;

/** What a transition does to a job whose current state allows it. */
export interface TransitionPlan {
  kind: TransitionKind;
  set: JobSet;
  runnerId?: string;
}

export type TransitionResult =
  | { outcome: 'applied'; before: Generation; after: Generation; transition: JobTransition }
  | { outcome: 'stale'; before: Generation | null };

export interface ApplyOptions {
  /**
   * `give-up`: another writer is changing the job right now, so leave it to them (a
   * claim moves on to the next job). `wait` (default): wait for them and look again.
   */
  whenContended?: 'wait' | 'give-up';
  /** Runs once this writer holds the revision, before the job changes (the claim opens its lease here). */
  beforeWrite?(transition: JobTransition): Promise<void>;
  /**
   * The job as the caller just read it, to save reading it again. It may be out of date:
   * it is checked against the revision it was read at, which only its own state can hold.
   */
  snapshot?: Generation;
}

export interface JobTransitionsDeps {
  models: Models;
  /** This server process, recorded on every transition. */
  serverId: string;
  now(): Date;
  /**
   * Called once a transition is applied, by its writer or by whoever rolled it forward:
   * publish its event, end the lease it ended.
   */
  applied(transition: JobTransition, job: Generation, how: { rolledForward: boolean }): Promise<void>;
}

/**
 * Every change of a job after its creation goes through here. FerretDB v1 executes a
 * conditional update as read → modify → write-back, so two writers can both "match" and
 * the later write silently undoes the earlier one; only an insert under a unique index
 * is atomic there (and on MongoDB). So a writer first inserts the transition under
 * `_id: "<jobId>:<rev + 1>"`, and only the writer whose insert wins applies it with
 * `updateOne({_id, rev}, {$set: {...set, rev: rev + 1}})`. No two writers, in any
 * number of processes, can hold the same revision, so each job's transitions form one
 * sequence; a loser re-reads the job and re-checks its precondition.
 */
export class JobTransitions {
  constructor(private readonly deps: JobTransitionsDeps) {}

  /**
   * Applies `plan` to the job if it allows it (`plan` returns null when the job's state
   * does not: the precondition). Runs in the tenant's scope.
   */
  async apply(
    tenantId: string,
    jobId: string,
    plan: (job: Generation) => TransitionPlan | null,
    options: ApplyOptions = {},
  ): Promise<TransitionResult> {
    const { Generation: Jobs } = this.deps.models;
    return runWithTenant(tenantId, async () => {
      const started = Date.now();
      let snapshot = options.snapshot;
      for (let attempt = 0; ; attempt += 1) {
        const job = snapshot ?? (await findOwnById(Jobs, jobId));
        snapshot = undefined;
        if (!job) return { outcome: 'stale', before: null };
        const planned = plan(job);
        if (!planned) return { outcome: 'stale', before: job };
        const rev = job.rev ?? 0;
        const transition: JobTransition = {
          _id: transitionId(jobId, rev + 1),
          tenantId,
          jobId,
          rev: rev + 1,
          kind: planned.kind,
          from: job.status,
          set: { ...planned.set, rev: rev + 1 },
          epoch: planned.set.epoch ?? job.epoch,
          by: { serverId: this.deps.serverId, runnerId: planned.runnerId ?? null },
          at: this.deps.now(),
        };
        if (!(await this.record(transition))) {
          if ((await this.contended(transition._id)) === 'rolled-forward') continue;
          if (options.whenContended === 'give-up') return { outcome: 'stale', before: job };
          if (Date.now() - started > MAX_WAIT_MS) {
            log.warn({ tenantId, jobId, rev: rev + 1 }, 'gave up waiting for a transition held by another writer');
            return { outcome: 'stale', before: job };
          }
          await sleep(Math.min(250, 5 * 2 ** attempt));
          continue;
        }
        await options.beforeWrite?.(transition);
        const after = { ...job, ...transition.set };
        const result = await Jobs.updateOne(atRev(jobId, rev), { $set: transition.set });
        if (result.matchedCount === 0) {
          // Someone took this writer for dead and rolled its transition forward (and announced it).
          log.warn({ tenantId, jobId, rev: rev + 1 }, 'transition was applied by another writer meanwhile');
        } else {
          await this.announce(transition, after, false);
        }
        return { outcome: 'applied', before: job, after, transition };
      }
    });
  }

  /** The job's transitions in order: its history (tenant scope). */
  async history(jobId: string): Promise<JobTransition[]> {
    return this.deps.models.JobTransition.find({ jobId }).sort({ rev: 1 }).lean();
  }

  /** Takes the revision; false when another writer holds it already. */
  private async record(transition: JobTransition): Promise<boolean> {
    try {
      await this.deps.models.JobTransition.create(transition);
      return true;
    } catch (error) {
      if ((error as { code?: number }).code === 11000) return false;
      throw error;
    }
  }

  /**
   * Someone holds the revision. Usually they are applying it right now; if it was
   * recorded so long ago that its writer must have died in between, apply it for them.
   */
  private async contended(id: string): Promise<'in-flight' | 'rolled-forward'> {
    const holder = await findOwnById(this.deps.models.JobTransition, id);
    if (!holder || this.deps.now().getTime() - holder.at.getTime() < ROLL_FORWARD_AFTER_MS) return 'in-flight';
    await this.rollForward(holder);
    return 'rolled-forward';
  }

  private async rollForward(transition: JobTransition): Promise<void> {
    const { Generation: Jobs } = this.deps.models;
    const result = await Jobs.updateOne(atRev(transition.jobId, transition.rev - 1), { $set: transition.set });
    if (result.matchedCount === 0) return; // applied already, by its writer or another roll-forward
    log.warn(
      { tenantId: transition.tenantId, jobId: transition.jobId, rev: transition.rev, kind: transition.kind, by: transition.by },
      'rolled forward a transition whose writer stopped before applying it',
    );
    const job = await findOwnById(Jobs, transition.jobId);
    if (job) await this.announce(transition, job, true);
  }

  /**
   * The transition stands whatever happens here: a failure to publish costs watchers a
   * snapshot, and a lease left open is retired by the sweeper.
   */
  private async announce(transition: JobTransition, job: Generation, rolledForward: boolean): Promise<void> {
    await this.deps.applied(transition, job, { rolledForward }).catch((error: unknown) => {
      log.error(
        { err: error, tenantId: transition.tenantId, jobId: transition.jobId, rev: transition.rev },
        'could not announce a transition',
      );
    });
  }
}

export function transitionId(jobId: string, rev: number): string {
  return `${jobId}:${rev}`;
}

/** The job at exactly this revision (jobs stored before revisions existed count as 0). */
function atRev(jobId: string, rev: number) {
  return rev === 0 ? { _id: jobId, rev: trusted({ $in: [0, null] }) } : { _id: jobId, rev };
}
