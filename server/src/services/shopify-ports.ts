import mongoose from 'mongoose';
import type { ComplianceRequest, ShopifyPorts, ShopperResult } from '@atelier/plugin-shopify';
import type { JobStatus } from '@atelier/protocol';
import { AppError } from '../errors/app-error.js';
import type { Generation } from '../models/generation.model.js';
import type { Models } from '../models/index.js';
import type { JobQueue } from '../queue/job-queue.js';
import type { UrlSigner } from '../storage/signed-urls.js';
import type { Storage } from '../storage/storage.js';
import { runWithTenant } from '../tenancy/tenant-context.js';
import type { AuditLog } from './audit-log.js';
import type { CreditLedger } from './credit-ledger.js';
import { grantIncludedCredits } from './included-credits.js';
import type { PlanService } from './plans.js';
import type { ShopperSessions } from './shopper-sessions.js';
import type { TenantConfigService } from './tenant-config.js';
import type { TenantDeletion } from './tenant-deletion.js';
import type { TenantService } from './tenant-service.js';

const { trusted } = mongoose;
const ACTIVE: JobStatus[] = ['queued', 'running'];
const SHOPIFY = { kind: 'shopify' } as const;

export interface ShopifyPortDeps {
  models: Models;
  tenants: TenantService;
  deletion: TenantDeletion;
  queue: JobQueue;
  shopperSessions: ShopperSessions;
  storage: Storage;
  configs: TenantConfigService;
  ledger: CreditLedger;
  plans: PlanService;
  signer: UrlSigner;
  audit: Pick<AuditLog, 'record'>;
  cancelOnRunner(runnerId: string, jobId: string, epoch: number): void;
}

/**
 * The Shopify app's view of the platform: a shop's tenant is made, suspended and
 * deleted by the same services as every other tenant, and its shoppers' sessions are
 * minted by the same service as `POST /v1/sessions`.
 */
export function shopifyPorts(deps: ShopifyPortDeps): ShopifyPorts {
  const { models } = deps;

  /** Cancels the tenant's active jobs matching `filter` (their reserved credits are handed back). */
  const cancelActive = (tenantId: string, filter: { shopperId?: string }) =>
    runWithTenant(tenantId, async () => {
      const jobs = await models.Generation.find({ ...filter, status: trusted({ $in: ACTIVE }) })
        .select({ _id: 1 })
        .lean();
      let stopped = 0;
      for (const job of jobs) {
        const result = await deps.queue.cancel(job._id);
        if (!result.canceled) continue;
        stopped += 1;
        if (result.lease) deps.cancelOnRunner(result.lease.runnerId, job._id, result.lease.epoch);
      }
      return stopped;
    });

  /** A finished job's images as the admin lists them; signed URLs that need no credentials. */
  const resultsOf = (job: Generation): ShopperResult[] =>
    job.images.map((image) => ({
      generationId: job._id,
      imageId: image._id,
      // A verified shopper's images open only with a URL bound to that shopper.
      url: job.shopperId
        ? deps.signer.shopperImageUrl(job.tenantId, job.shopperId, image._id, image.format)
        : deps.signer.imageUrl(job.tenantId, image._id, image.format),
      width: image.width,
      height: image.height,
      shopperId: job.shopperId ?? null,
      prompt: job.params.prompt ?? '',
      createdAt: job.createdAt.toISOString(),
    }));
  const findImage = (tenantId: string, imageId: string, filter: { shopperId?: string } = {}) =>
    runWithTenant(tenantId, async () => {
      const job = await models.Generation.findOne({ ...filter, status: 'succeeded', 'images._id': imageId }).lean();
      return job ? resultsOf(job).find((result) => result.imageId === imageId) : undefined;
    });

  return {
    settings: {
      get: (tenantId) => runWithTenant(tenantId, () => deps.configs.get()),
      update: (tenantId, patch) => runWithTenant(tenantId, () => deps.configs.update(patch, SHOPIFY)),
    },
    credits: {
      account: (tenantId) =>
        runWithTenant(tenantId, async () => {
          const tenant = await models.Tenant.findById(tenantId).select({ plan: 1 }).lean();
          if (!tenant) throw new AppError('not_found', 'The tenant does not exist.');
          const plan = await deps.plans.get(tenant.plan);
          return { plan: plan._id, monthlyCredits: plan.monthlyCredits, balance: await deps.ledger.balance() };
        }),
      usage: (tenantId, from, to) => runWithTenant(tenantId, () => deps.ledger.usage(from, to)),
    },
    results: {
      recent: (tenantId, limit) =>
        runWithTenant(tenantId, async () => {
          const jobs = await models.Generation.find({ status: 'succeeded' }).sort({ createdAt: -1, _id: -1 }).limit(limit).lean();
          return jobs.flatMap(resultsOf);
        }),
      find: (tenantId, imageId) => findImage(tenantId, imageId),
      async ownedBy(tenantId, sessionToken, imageId) {
        const check = await deps.shopperSessions.verify(sessionToken, tenantId);
        return check.ok ? findImage(tenantId, imageId, { shopperId: check.claims.shopperId }) : undefined;
      },
    },
    tenants: {
      async create({ name, origins }) {
        const created = await deps.tenants.create({ name, plan: 'free', origins, mode: 'live' }, SHOPIFY);
        return { tenantId: created.tenantId, publishableKey: created.publishableKey };
      },
      async reactivate(tenantId, { name, origins }) {
        await deps.tenants.update(tenantId, { status: 'active', name, origins }, SHOPIFY);
      },
      async suspend(tenantId) {
        await ignoreGone(deps.tenants.update(tenantId, { status: 'suspended' }, SHOPIFY));
      },
      async rename(tenantId, { name, origins }) {
        await ignoreGone(deps.tenants.update(tenantId, { name, origins }, SHOPIFY));
      },
      async delete(tenantId) {
        await ignoreGone(deps.deletion.delete(tenantId, SHOPIFY));
      },
      stopQueuedWork: (tenantId) => cancelActive(tenantId, {}),
    },
    shopperSessions: { mint: (tenantId, input) => deps.shopperSessions.mint(tenantId, input) },
    billing: {
      async changePlan(tenantId, plan) {
        const limits = await deps.plans.get(plan);
        // A tenant an operator deleted has no plan left to change.
        await ignoreGone(deps.tenants.update(tenantId, { plan: limits._id }, SHOPIFY));
      },
      async grantIncluded(tenantId, plan, period) {
        const limits = await deps.plans.get(plan);
        // The same grant (key, amount, reason) as the hourly run's for this period: whichever comes first stands.
        return runWithTenant(tenantId, () => grantIncludedCredits(deps.ledger, limits, period, SHOPIFY));
      },
      async addCredits(tenantId, { amount, key, reason }) {
        const { entry } = await runWithTenant(tenantId, () =>
          deps.ledger.grant({ amount, reason, actor: SHOPIFY, idempotencyKey: key }),
        );
        return { entryId: `${tenantId}:${entry.seq}` };
      },
    },
    shoppers: {
      export: (tenantId, shopperId, linkTtlSeconds, request) =>
        runWithTenant(tenantId, async () => {
          const signer = deps.signer.withTtl(linkTtlSeconds);
          // One clock reading, so that the links expire exactly when the export says.
          const now = Date.now();
          const expiresAt = new Date((Math.floor(now / 1000) + linkTtlSeconds) * 1000).toISOString();
          const jobs = await models.Generation.find({ shopperId }).sort({ createdAt: 1, _id: 1 }).lean();
          await deps.audit.record('data.exported', {
            actor: SHOPIFY,
            details: { ...compliance(request), generations: jobs.length, images: imageCount(jobs), linksExpireAt: expiresAt },
          });
          return jobs.map((job) => ({
            id: job._id,
            status: job.status,
            params: job.params as unknown as Record<string, unknown>,
            createdAt: job.createdAt.toISOString(),
            finishedAt: job.finishedAt?.toISOString() ?? null,
            images: job.images.map((image) => ({
              id: image._id,
              // Bound to the shopper, as the file route requires of a shopper's image.
              url: signer.shopperImageUrl(tenantId, shopperId, image._id, image.format, now),
              width: image.width,
              height: image.height,
              format: image.format,
              expiresAt,
            })),
          }));
        }),
      list: (tenantId, shopperId) =>
        runWithTenant(tenantId, async () =>
          (await models.Generation.find({ shopperId }).select({ _id: 1 }).sort({ _id: 1 }).lean()).map((job) => job._id),
        ),
      async forget(tenantId, shopperId, request) {
        await cancelActive(tenantId, { shopperId });
        return runWithTenant(tenantId, async () => {
          const jobs = await models.Generation.find({ shopperId }).select({ _id: 1, images: 1 }).lean();
          // Files before documents: a crash in between leaves a document to find again, never a stray file.
          for (const job of jobs) for (const image of job.images) await deps.storage.delete(image.storageKey);
          const ids = trusted({ $in: jobs.map((job) => job._id) });
          await models.JobTransition.deleteMany({ jobId: ids });
          await models.IdempotencyKey.deleteMany({ generationId: ids });
          const { deletedCount } = await models.Generation.deleteMany({ _id: ids });
          // Recorded even when nothing was held: the request was answered.
          await deps.audit.record('data.deleted', {
            actor: SHOPIFY,
            details: { ...compliance(request), generations: deletedCount, images: imageCount(jobs) },
          });
          return deletedCount;
        });
      },
    },
  };
}

/** A compliance request as an audit entry names it: its topic and id, never the customer. */
function compliance(request: ComplianceRequest): Record<string, string> {
  return { reason: request.topic, request: request.id };
}

function imageCount(jobs: Pick<Generation, 'images'>[]): number {
  return jobs.reduce((sum, job) => sum + job.images.length, 0);
}

/** Shopify's events may come after the tenant is gone (deleted by an operator, or redacted): false then. */
async function ignoreGone(work: Promise<unknown>): Promise<boolean> {
  try {
    await work;
    return true;
  } catch (error) {
    if (!(error instanceof AppError && error.code === 'not_found')) throw error;
    return false;
  }
}
