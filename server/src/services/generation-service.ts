import mongoose from 'mongoose';
import type { Models } from '../models/index.js';
import type { Generation, StoredImage } from '../models/generation.model.js';
import { leaseId } from '../models/lease.model.js';
import {
  WATERMARK_LIMITS,
  type GenerationBody,
  type GenerationParams,
  type Performance,
  type PublicImage,
  type QueueEstimate,
  type TenantConfig,
  type Watermark,
} from '@atelier/protocol';
import { AppError, conflict, invalidRequest, notFound, unavailable } from '../errors/app-error.js';
import { requireTenantId, runAsSystem } from '../tenancy/tenant-context.js';
import type { JobQueue } from '../queue/job-queue.js';
import { createLogger } from '../logging/logger.js';
import { canonicalJson } from './canonical-json.js';
import { newId, sha256 } from './ids.js';
import { priceOf } from './cost-table.js';
import type { CreditLedger } from './credit-ledger.js';
import type { ShortfallCover } from './credit-shortfall.js';
import { resolve } from './resolve-params.js';
import type { LoraService } from './lora-service.js';
import type { TenantConfigService } from './tenant-config.js';
import type { InputImages } from './input-images.js';
import type { UploadService } from './upload-service.js';
import type { JobAsset } from '../storage/job-assets.js';
import type { AuditActor } from '../models/audit-event.model.js';
import type { PromptScreen } from './content-policy/prompt-screen.js';
import type { QueueEstimator } from '../queue/queue-estimator.js';
import type { RunnerRegistry } from '../queue/runner-registry.js';
import type { ShopperQuota } from './shopper-sessions.js';
import { ShopperQuotas } from './shopper-quota.js';

const { trusted } = mongoose;
const log = createLogger('generations');

export interface CreateOptions {
  source: 'api' | 'widget';
  /** Who asks, for the audit log (a refused prompt is recorded there). */
  actor: AuditActor;
  /** The widget session asking; with `ref`, the request is idempotent per (session, ref). */
  sessionId?: string;
  ref?: string;
  /** The verified shopper (widget with a shopper session), or an anonymous browser's id. */
  shopperId?: string;
  browserId?: string | null;
  /** The verified shopper's quota, from their shopper session: counted per shopper and UTC day. */
  quota?: ShopperQuota;
  /** REST's `Idempotency-Key`. */
  idempotencyKey?: string;
}

export interface CreatedGeneration {
  generation: Generation;
  queue: QueueEstimate;
  /** False when an `Idempotency-Key` matched an earlier request. */
  created: boolean;
}

export interface GenerationServiceDeps {
  models: Models;
  queue: JobQueue;
  estimator: QueueEstimator;
  dispatcher: { notify(): void };
  presentImages(tenantId: string, images: StoredImage[], shopperId?: string | null): PublicImage[];
  /** The tenant's plan and configuration, which bound what a request may ask for. */
  configs: Pick<TenantConfigService, 'policy'>;
  /** The tenant's own LoRAs, which are all a request may name. */
  loras: Pick<LoraService, 'owned'>;
  /** The tenant's uploads, which a request names by id (its mask). */
  uploads: Pick<UploadService, 'get'>;
  /** A job's input image: an upload, or one of the asker's own results. */
  inputImages: Pick<InputImages, 'get' | 'upload' | 'fromUrl'>;
  /** Which presets the connected runners offer. */
  runners: Pick<RunnerRegistry, 'offering'>;
  /** Refuses prompts the platform's or the tenant's content policy does not allow. */
  prompts: Pick<PromptScreen, 'screen'>;
  /** Reserves each job's price before the job exists. */
  ledger: Pick<CreditLedger, 'reserve' | 'closed'>;
  /** Asked before a job is refused for credits (an integration may bill the shortfall). */
  shortfall?: ShortfallCover;
  /** Ends a job whose reservation was handed back before the job was stored (see `create`). */
  expireUnstarted(tenantId: string, jobId: string): Promise<boolean>;
  /** How long a job may wait to start before it expires without charge (default 15 minutes). */
  deadlineMs?: number;
  /** Backpressure: queued jobs of one tenant (→ 429), of everyone (→ 503). */
  maxQueuedPerTenant?: number;
  maxQueued?: number;
  now?: () => Date;
}

const DEFAULT_DEADLINE_MS = 15 * 60_000;
/** An `Idempotency-Key` answers with its first response for at least a day; records go after two. */
export const IDEMPOTENCY_RETENTION_MS = 2 * 86_400_000;
/** What a refused request is told to wait before trying again, in seconds. */
const BACKPRESSURE_RETRY_AFTER_S = 10;
const ACTIVE_STATUSES = ['queued', 'running'];

/**
 * Accepts, reads, lists and cancels generations for the tenant in scope. Knows
 * nothing of HTTP or sockets; both the REST routes and the widget hub call it.
 */
export class GenerationService {
  /** Verified shoppers' daily quotas (their shopper sessions' `quota.generationsPerDay`). */
  private readonly quotas: ShopperQuotas;

  constructor(private readonly deps: GenerationServiceDeps) {
    this.quotas = new ShopperQuotas({ models: deps.models, now: () => this.now() });
  }

  async create(params: GenerationParams, options: CreateOptions): Promise<CreatedGeneration> {
    const tenantId = requireTenantId();
    const tenant = await this.deps.models.Tenant.findById(tenantId).lean();
    if (!tenant || tenant.status === 'deleted') throw notFound('The tenant');
    // A widget socket opened before a suspension is still open: its requests stop here.
    if (tenant.status !== 'active') throw new AppError('forbidden', 'This account is suspended.');
    const policy = await this.deps.configs.policy(tenant);
    await this.deps.prompts.screen({ prompt: params.prompt }, policy.config, options.actor);
    // Before either is looked up (or fetched): which one was meant cannot be guessed.
    if (params.inputImageId !== undefined && params.inputImageUrl !== undefined) {
      throw invalidRequest('give inputImageId or inputImageUrl, not both');
    }
    const owner = {
      source: options.source,
      shopperId: options.shopperId,
      sessionId: options.sessionId,
      browserId: options.browserId,
    };
    const input =
      params.inputImageUrl !== undefined && params.inputImageId === undefined && (params.mode ?? 'txt2img') !== 'txt2img'
        ? await this.deps.inputImages.fromUrl(params.inputImageUrl, {
            origins: tenant.origins,
            hosts: policy.config.productImageHosts,
          })
        : params.inputImageId !== undefined
          ? await this.deps.inputImages.get(params.inputImageId, 'inputImageId', owner)
          : undefined;
    const inputs = {
      ...(input && { input, inputImageId: input.asset.id }),
      ...(params.maskImageId !== undefined && {
        mask: await this.deps.inputImages.upload(params.maskImageId, 'maskImageId', owner),
      }),
    };
    const loras = await this.deps.loras.owned(params.loras?.map((lora) => lora.id) ?? []);
    const resolved = resolve(params, policy, { ...inputs, loras });
    const watermark = policy.config.output.watermark ? await this.watermarkOf(policy.config, tenant.name) : undefined;
    const assets: JobAsset[] = [
      ...(inputs.input ? [{ kind: 'input' as const, ...inputs.input.asset }] : []),
      ...(inputs.mask
        ? [{ kind: 'mask' as const, id: inputs.mask._id, sha256: inputs.mask.sha256, bytes: inputs.mask.bytes }]
        : []),
      ...(resolved.loras ?? []).map(({ id }) => ({ kind: 'lora' as const, id, ...loras.get(id)! })),
      ...(watermark?.logo ? [watermark.logo] : []),
    ];
    await this.requireOffered(resolved.performance);
    const price = priceOf({ ...resolved, mode: params.mode, loras: params.loras });
    await this.checkBackpressure();
    // Identical requests (same parameters, the seed included) while the first is queued
    // or running share its job; without a seed no two requests are identical.
    let generationId = params.seed !== undefined && options.source === 'api' ? await this.identicalJob(params) : newId('gen');

    // One namespace per source, so a REST key can never collide with a widget's ref.
    const idempotencyKey = options.idempotencyKey
      ? `api:${options.idempotencyKey}`
      : options.sessionId && options.ref
        ? `widget:${options.sessionId}:${options.ref}`
        : undefined;
    if (idempotencyKey) {
      const claim = await this.claimIdempotencyKey(idempotencyKey, params, generationId);
      if ('replay' in claim) return claim.replay;
      generationId = claim.generationId;
    }

    // The shopper's slot of the day, taken last of the checks and handed back if the
    // credits refuse: only an accepted job counts against the quota.
    const perDay = options.quota?.generationsPerDay;
    const slot =
      options.shopperId !== undefined && perDay !== undefined
        ? await this.quotas.claim(options.shopperId, perDay, generationId)
        : undefined;
    // Reserved before the job exists, so an accepted job is always paid for; a crash
    // between the two leaves a reservation without a job, which the reservation sweeper
    // hands back.
    try {
      await this.reserve(tenantId, generationId, price);
    } catch (error) {
      await slot?.release();
      throw error;
    }
    const now = new Date();
    const generation = await this.deps.models.Generation.create({
      _id: generationId,
      status: 'queued',
      params,
      resolved: {
        ...resolved,
        provenance: {
          jobId: generationId,
          tenantName: tenant.name,
          ...(policy.config.output.embedPrompt && { prompt: params.prompt }),
        },
        ...(watermark && { watermark: watermark.mark }),
        nsfwThreshold: policy.config.contentPolicy.nsfwThreshold,
      },
      assets,
      cost: { credits: price },
      progress: { step: 0, steps: resolved.steps * resolved.imageCount, stage: 'queued' },
      source: options.source,
      sessionId: options.sessionId ?? null,
      shopperId: options.shopperId ?? null,
      browserId: options.browserId ?? null,
      ref: options.ref ?? null,
      queuedAt: now,
      notBefore: now,
      deadline: new Date(now.getTime() + (this.deps.deadlineMs ?? DEFAULT_DEADLINE_MS)),
    }).catch((error: unknown) => {
      // Two retries of one idempotent request raced to create the same job.
      if ((error as { code?: number }).code !== 11000) throw error;
      return undefined;
    });
    if (!generation) {
      const existing = await this.get(generationId);
      return { generation: existing, queue: await this.deps.estimator.estimate(existing), created: false };
    }
    // The sweeper hands back a reservation whose job it cannot find, then looks for the
    // job once more; this looks for the hand-back after storing the job. Of the two
    // orders one always sees the other, so no job runs on a released reservation.
    if (await this.deps.ledger.closed(generationId)) {
      await this.deps.expireUnstarted(tenantId, generationId);
      throw unavailable('The request took too long to be accepted; try again.');
    }
    this.deps.dispatcher.notify();
    const job = generation.toObject() as Generation;
    return { generation: job, queue: await this.deps.estimator.estimate(job), created: true };
  }

  /**
   * Reserves the job's price. When the credits do not cover it, an integration may
   * cover the shortfall first (and say why not when it will not); the refusal stands
   * otherwise. One more attempt only: credits a concurrent job took meanwhile stay
   * with the tenant, and this job is refused as any other.
   */
  private async reserve(tenantId: string, jobId: string, price: number): Promise<void> {
    try {
      await this.deps.ledger.reserve(jobId, price);
      return;
    } catch (error) {
      if (!this.deps.shortfall || !(error instanceof AppError) || error.code !== 'insufficient_credits') throw error;
      const available = Number(error.details?.available ?? 0);
      const answer = await this.deps.shortfall.cover({ tenantId, jobId, required: price, available });
      if (!answer.covered) {
        if (answer.detail === undefined) throw error;
        throw new AppError('insufficient_credits', answer.detail, { details: { ...error.details, ...answer.details } });
      }
    }
    await this.deps.ledger.reserve(jobId, price);
  }

  /**
   * Refuses a preset that runners are online for but none of them offers (its weights are
   * not installed anywhere), rather than queueing a job no connected runner can run. With
   * no runner online at all the job queues as any other, waiting for one.
   */
  private async requireOffered(performance: Performance): Promise<void> {
    const { online, offering } = await this.deps.runners.offering(performance);
    if (online > 0 && offering === 0) {
      throw new AppError(
        'unavailable',
        `The "${performance}" preset is not offered by any connected runner (its weights are not installed); choose another preset.`,
        { expose: true },
      );
    }
  }

  /** Deletes `Idempotency-Key` records past their retention, across tenants (FerretDB v1 has no TTL indexes). */
  async sweepIdempotencyKeys(): Promise<number> {
    const before = new Date(this.now().getTime() - IDEMPOTENCY_RETENTION_MS);
    const { deletedCount } = await runAsSystem('sweep idempotency keys', () =>
      this.deps.models.IdempotencyKey.deleteMany({ createdAt: trusted({ $lt: before }) }),
    );
    return deletedCount;
  }

  async get(id: string): Promise<Generation> {
    const generation = await this.deps.models.Generation.findById(id).lean();
    if (!generation) throw notFound('The generation');
    return (await this.withLiveProgress([generation]))[0]!;
  }

  /** Newest first; the cursor is the last id of the previous page. */
  async list(limit: number, cursor?: string): Promise<{ data: Generation[]; nextCursor: string | null }> {
    const { Generation: Jobs } = this.deps.models;
    let filter = {};
    if (cursor) {
      const after = await Jobs.findById(cursor).select({ createdAt: 1 }).lean();
      if (!after) throw invalidRequest('cursor does not name a generation of yours');
      filter = {
        $or: [{ createdAt: trusted({ $lt: after.createdAt }) }, { createdAt: after.createdAt, _id: trusted({ $lt: after._id }) }],
      };
    }
    const page = await Jobs.find(filter)
      .sort({ createdAt: -1, _id: -1 })
      .limit(limit + 1)
      .lean();
    const data = await this.withLiveProgress(page.slice(0, limit));
    return { data, nextCursor: page.length > limit ? (data.at(-1)?._id ?? null) : null };
  }

  async cancel(id: string): Promise<{ lease?: { runnerId: string; epoch: number } }> {
    const result = await this.deps.queue.cancel(id);
    if (result.canceled) return result.lease ? { lease: result.lease } : {};
    const existing = await this.deps.models.Generation.findById(id).select({ status: 1 }).lean();
    if (!existing) throw notFound('The generation');
    throw conflict(`The generation has already ${existing.status === 'succeeded' ? 'finished' : existing.status}.`);
  }

  /** Jobs a widget session asked for that are still worth telling it about. */
  async forSession(sessionId: string): Promise<Generation[]> {
    return this.withLiveProgress(await this.deps.models.Generation.find({ sessionId }).sort({ createdAt: -1 }).limit(20).lean());
  }

  /**
   * A running job's progress is on its lease (written by the runner's session, apart
   * from the job's fenced transitions): one query for any number of jobs.
   */
  private async withLiveProgress(jobs: Generation[]): Promise<Generation[]> {
    const running = jobs.filter((job) => job.status === 'running');
    if (running.length === 0) return jobs;
    const leases = await this.deps.models.Lease.find({ _id: trusted({ $in: running.map((job) => leaseId(job._id, job.epoch)) }) })
      .select({ jobId: 1, progress: 1 })
      .lean();
    const progress = new Map(leases.map((lease) => [lease.jobId, lease.progress]));
    return jobs.map((job) =>
      job.status === 'running' && progress.has(job._id) ? { ...job, progress: progress.get(job._id)! } : job,
    );
  }

  /**
   * The REST shape of a job. The queue estimate costs a few database reads, so only the
   * single-job view has it (`withQueue`); a list page takes the same few queries however long it is.
   */
  async view(generation: Generation, { withQueue = true } = {}): Promise<GenerationBody> {
    const view: GenerationBody = {
      id: generation._id,
      status: generation.status,
      createdAt: generation.createdAt.toISOString(),
      params: generation.params,
      seed: generation.resolved.seed,
      // A finished job has done all its steps, whatever the last persisted report said.
      progress:
        generation.status === 'succeeded' ? { ...generation.progress, step: generation.progress.steps } : generation.progress,
      cost: generation.cost,
      images: this.deps.presentImages(generation.tenantId, generation.images, generation.shopperId),
      error: generation.error ? { code: generation.error.code, message: generation.error.message } : null,
      shopperId: generation.shopperId ?? null,
    };
    if (withQueue && generation.status === 'queued') view.queue = await this.deps.estimator.estimate(generation);
    return view;
  }

  private now(): Date {
    return (this.deps.now ?? (() => new Date()))();
  }

  /**
   * The tenant's watermark: its style, with its own text or else its name, and its logo
   * (a job asset, so the runner fetches it over a signed URL) when it has one. A logo
   * upload that is gone (deleted since) leaves the text: a plan that forces a watermark
   * still gets one.
   */
  private async watermarkOf({ output }: TenantConfig, tenantName: string): Promise<{ mark: Watermark; logo?: JobAsset }> {
    const { text, logoImageId, ...style } = output.watermarkStyle;
    const mark: Watermark = { text: text ?? tenantName.slice(0, WATERMARK_LIMITS.textLength), ...style };
    if (logoImageId === null) return { mark };
    const upload = await this.deps.models.Upload.findById(logoImageId).lean();
    if (!upload) {
      log.warn({ tenantId: requireTenantId(), logoImageId }, 'the watermark logo upload is gone; watermarking with text');
      return { mark };
    }
    return {
      mark: { ...mark, logoAssetId: upload._id },
      logo: { kind: 'logo', id: upload._id, sha256: upload.sha256, bytes: upload.bytes },
    };
  }

  private async checkBackpressure(): Promise<void> {
    const { Generation: Jobs } = this.deps.models;
    const tenantId = requireTenantId();
    // One pass over the queue for both counts: on FerretDB v1 each count is a scan of every job.
    const perTenant = await runAsSystem('backpressure: count queued jobs', () =>
      Jobs.aggregate<{ _id: string; queued: number }>([
        { $match: { status: 'queued' } },
        { $group: { _id: '$tenantId', queued: { $sum: 1 } } },
      ]),
    );
    const mine = perTenant.find((group) => group._id === tenantId)?.queued ?? 0;
    const everyone = perTenant.reduce((sum, group) => sum + group.queued, 0);
    if (mine >= (this.deps.maxQueuedPerTenant ?? Number.POSITIVE_INFINITY)) {
      throw new AppError('rate_limited', `You have ${mine} generations queued; wait for some to start.`, {
        retryAfter: BACKPRESSURE_RETRY_AFTER_S,
      });
    }
    if (everyone >= (this.deps.maxQueued ?? Number.POSITIVE_INFINITY)) {
      throw new AppError('unavailable', 'The service is at capacity; try again shortly.', {
        retryAfter: BACKPRESSURE_RETRY_AFTER_S,
      });
    }
  }

  /**
   * The job this request shares with an identical one of the same tenant that is still
   * queued or running, or a new id (recorded, so the next identical request shares it).
   * The record is an `idempotency_keys` entry keyed by the request's hash: of racing
   * identical requests one insert wins and the rest take its job. A record whose job
   * has finished is replaced.
   */
  private async identicalJob(params: GenerationParams): Promise<string> {
    const { IdempotencyKey, Generation: Jobs } = this.deps.models;
    const requestHash = sha256(canonicalJson(params));
    const key = `same:${requestHash}`;
    for (let attempt = 0; attempt < 3; attempt += 1) {
      const generationId = newId('gen');
      try {
        await IdempotencyKey.create({ _id: newId('idk'), key, requestHash, generationId });
        return generationId;
      } catch (error) {
        if ((error as { code?: number }).code !== 11000) throw error;
      }
      const record = await IdempotencyKey.findOne({ key }).lean();
      if (!record) continue;
      const job = await Jobs.findById(record.generationId).select({ status: 1 }).lean();
      // No job yet: the first request is storing it right now, and this one joins it.
      if (!job || ACTIVE_STATUSES.includes(job.status)) return record.generationId;
      await IdempotencyKey.deleteOne({ _id: record._id });
    }
    return newId('gen');
  }

  /**
   * Records which job an `Idempotency-Key` creates before creating it. A retry finds the
   * record: same body → the same job (created now if the first request died before it
   * could), different body → conflict.
   */
  private async claimIdempotencyKey(
    key: string,
    params: GenerationParams,
    generationId: string,
  ): Promise<{ replay: CreatedGeneration } | { generationId: string }> {
    const { IdempotencyKey, Generation: Jobs } = this.deps.models;
    const requestHash = sha256(canonicalJson(params));
    try {
      await IdempotencyKey.create({ _id: newId('idk'), key, requestHash, generationId });
      return { generationId };
    } catch (error) {
      if ((error as { code?: number }).code !== 11000) throw error;
    }
    const record = await IdempotencyKey.findOne({ key }).lean();
    if (!record) throw new AppError('internal', 'idempotency record vanished', { expose: false });
    if (record.requestHash !== requestHash) {
      throw conflict(
        key.startsWith('api:')
          ? 'This Idempotency-Key was already used with different parameters.'
          : 'This ref was already used in this session with different parameters.',
      );
    }
    const found = await Jobs.findById(record.generationId).lean();
    if (!found) return { generationId: record.generationId };
    const existing = (await this.withLiveProgress([found]))[0]!;
    return { replay: { generation: existing, queue: await this.deps.estimator.estimate(existing), created: false } };
  }
}
