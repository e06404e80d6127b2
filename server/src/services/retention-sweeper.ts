import mongoose from 'mongoose';
import type { JobStatus } from '@atelier/protocol';
import type { Models } from '../models/index.js';
import type { AuditLog } from './audit-log.js';
import { createLogger } from '../logging/logger.js';
import { PeriodicRun } from './periodic-run.js';
import type { Storage } from '../storage/storage.js';
import { runAsSystem, runWithTenant } from '../tenancy/tenant-context.js';
import type { TenantConfigService } from './tenant-config.js';

const { trusted } = mongoose;
const log = createLogger('retention-sweeper');

const HOUR_MS = 60 * 60 * 1000;
const DAY_MS = 24 * HOUR_MS;
/** Jobs and uploads deleted per query; a tenant with more is swept in several rounds of one run. */
const BATCH = 200;
const ENDED: JobStatus[] = ['succeeded', 'failed', 'canceled', 'expired'];
const ACTIVE: JobStatus[] = ['queued', 'running'];

export interface RetentionSweep {
  generations: number;
  uploads: number;
  files: number;
}

/**
 * Deletes what a tenant's `retentionDays` no longer allows it to keep: jobs that ended
 * longer ago (their images, their parameters and prompts, their history, the
 * idempotency records pointing at them) and input uploads older than that which no
 * waiting or running job still needs. Credits entries and the audit log stay: they are
 * the account's records, and hold no image and no prompt unless the tenant asked for
 * one (`contentPolicy.auditPromptText`). A deleted tenant's data goes with the tenant
 * (tenant-deletion.ts). A run that deletes something of a tenant's says so in its audit
 * log (`data.deleted`: the counts and the cut-off, nothing of what was deleted).
 *
 * Runs at start and hourly on every server process; deleting twice is harmless. Files go
 * before their documents, so a crash in between leaves a document whose files are gone,
 * which the next run deletes, never a file nothing points at.
 */
export class RetentionSweeper {
  private readonly schedule = new PeriodicRun(
    () => this.sweep(),
    (err: unknown) => log.error({ err }, 'retention sweep failed'),
  );

  constructor(
    private readonly deps: {
      models: Models;
      configs: Pick<TenantConfigService, 'get'>;
      storage: Storage;
      audit: Pick<AuditLog, 'record'>;
      now?: () => Date;
    },
  ) {}

  async sweep(): Promise<RetentionSweep> {
    const tenants = await runAsSystem('retention: tenants with data', () =>
      this.deps.models.Tenant.find({ status: trusted({ $in: ['active', 'suspended'] }) })
        .select({ _id: 1 })
        .lean(),
    );
    const total: RetentionSweep = { generations: 0, uploads: 0, files: 0 };
    for (const { _id: tenantId } of tenants) {
      const swept = await runWithTenant(tenantId, () => this.sweepTenant());
      total.generations += swept.generations;
      total.uploads += swept.uploads;
      total.files += swept.files;
      if (swept.generations + swept.uploads > 0) log.info({ tenantId, ...swept }, 'deleted data past retention');
    }
    return total;
  }

  /** The tenant in scope. */
  private async sweepTenant(): Promise<RetentionSweep> {
    const { retentionDays, output } = await this.deps.configs.get();
    const cutoff = new Date((this.deps.now?.() ?? new Date()).getTime() - retentionDays * DAY_MS);
    const swept: RetentionSweep = { generations: 0, uploads: 0, files: 0 };
    await this.sweepJobs(cutoff, swept);
    await this.sweepUploads(cutoff, output.watermarkStyle.logoImageId, swept);
    if (swept.generations + swept.uploads > 0) {
      await this.deps.audit.record('data.deleted', {
        actor: { kind: 'system' },
        details: { reason: 'retention', retentionDays, cutoff: cutoff.toISOString(), ...swept },
      });
    }
    return swept;
  }

  private async sweepJobs(cutoff: Date, swept: RetentionSweep): Promise<void> {
    const { models, storage } = this.deps;
    for (;;) {
      const jobs = await models.Generation.find({ status: trusted({ $in: ENDED }), finishedAt: trusted({ $lt: cutoff }) })
        .select({ _id: 1, images: 1 })
        .limit(BATCH)
        .lean();
      if (jobs.length === 0) break;
      for (const job of jobs) {
        for (const image of job.images) await storage.delete(image.storageKey);
        swept.files += job.images.length;
      }
      const ids = trusted({ $in: jobs.map((job) => job._id) });
      await models.JobTransition.deleteMany({ jobId: ids });
      await models.IdempotencyKey.deleteMany({ generationId: ids });
      const { deletedCount } = await models.Generation.deleteMany({ _id: ids, status: trusted({ $in: ENDED }) });
      swept.generations += deletedCount;
      if (jobs.length < BATCH) break;
    }
  }

  private async sweepUploads(cutoff: Date, logoImageId: string | null, swept: RetentionSweep): Promise<void> {
    const { models, storage } = this.deps;
    const needed = new Set(
      (
        await models.Generation.find({ status: trusted({ $in: ACTIVE }) })
          .select({ assets: 1 })
          .lean()
      ).flatMap((job) => job.assets.map((asset) => asset.id)),
    );
    // The tenant's watermark logo is an upload too, and it stays in use for as long as the
    // configuration names it, however old it is.
    if (logoImageId) needed.add(logoImageId);
    const uploads = await models.Upload.find({ createdAt: trusted({ $lt: cutoff }) })
      .select({ _id: 1, storageKey: 1 })
      .lean();
    for (const upload of uploads.filter((candidate) => !needed.has(candidate._id))) {
      await storage.delete(upload.storageKey);
      swept.files += 1;
      swept.uploads += (await models.Upload.deleteOne({ _id: upload._id })).deletedCount;
    }
  }

  start(intervalMs = HOUR_MS): void {
    this.schedule.start(intervalMs);
  }

  /** Stops the schedule and waits for a run in progress (it must not outlive the database connection). */
  stop(): Promise<void> {
    return this.schedule.stop();
  }
}
