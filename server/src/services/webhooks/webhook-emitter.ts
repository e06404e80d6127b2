import { createHash } from 'node:crypto';
import mongoose from 'mongoose';
import type { GenerationBody, JobStatus, WebhookEventType, WebhookGenerationData, WebhookPayload } from '@atelier/protocol';
import { createLogger } from '../../logging/logger.js';
import type { Generation } from '../../models/generation.model.js';
import type { Models } from '../../models/index.js';
import type { WebhookEndpoint } from '../../models/webhook-endpoint.model.js';
import type { WebhookMessage } from '../../models/webhook-message.model.js';
import { runAsSystem, runWithTenant } from '../../tenancy/tenant-context.js';

const log = createLogger('webhook-emitter');

/** The event each way a generation ends emits. */
export const EVENT_BY_STATUS: Partial<Record<JobStatus, WebhookEventType>> = {
  succeeded: 'generation.completed',
  failed: 'generation.failed',
  canceled: 'generation.canceled',
  expired: 'generation.expired',
};

/**
 * How far back the repair sweep looks for finished generations whose events were never
 * written (their server process stopped between ending the job and writing them), and
 * how long it leaves the writer to do it first.
 */
const REPAIR_WINDOW_MS = 15 * 60_000;
const REPAIR_GRACE_MS = 20_000;
const REPAIR_BATCH = 500;

export interface WebhookEmitterDeps {
  models: Models;
  /** The generation's REST shape (GenerationService.view). */
  view(job: Generation): Promise<GenerationBody>;
  /** Attempts a delivery gets: the retry schedule's length + 1. */
  attemptsPerDelivery: number;
  /** Tells this process's deliverer that work is due. */
  wake(): void;
  now?: () => Date;
}

/**
 * Writes a finished generation's event into the outbox (`webhook_messages`), one
 * delivery per enabled endpoint of its tenant subscribed to it. A delivery's `_id`
 * derives from endpoint, generation and event, so writing it again changes nothing:
 * the job queue calls `jobFinished` once per terminal transition (also when it rolls one
 * forward), and `repair` writes what a process that died in between left unwritten.
 */
export class WebhookEmitter {
  /**
   * The `finishedAt` this process's repair passes have looked at everything up to: each
   * pass reads only what finished since (the whole window only after a start), so a busy
   * tenant's generations are checked once, not on every pass for fifteen minutes.
   */
  private repairedUpTo = 0;

  constructor(private readonly deps: WebhookEmitterDeps) {}

  async jobFinished(job: Generation): Promise<void> {
    const type = EVENT_BY_STATUS[job.status];
    if (!type) return;
    const written = await runWithTenant(job.tenantId, async () => {
      const endpoints = await this.deps.models.WebhookEndpoint.find({ enabled: true }).lean();
      return this.write(job, type, endpoints);
    });
    if (written > 0) this.deps.wake();
  }

  /** Writes the events of recently finished generations that are missing (see REPAIR_WINDOW_MS). */
  async repair(): Promise<number> {
    const { models } = this.deps;
    const now = this.now().getTime();
    const endpoints = await runAsSystem('webhook repair: enabled endpoints', () =>
      models.WebhookEndpoint.find({ enabled: true }).lean(),
    );
    if (endpoints.length === 0) return 0;
    const tenants = [...new Set(endpoints.map((endpoint) => endpoint.tenantId))];
    const to = now - REPAIR_GRACE_MS;
    const from = Math.max(now - REPAIR_WINDOW_MS, this.repairedUpTo);
    const jobs = await runAsSystem('webhook repair: recently finished generations', () =>
      models.Generation.find({
        tenantId: mongoose.trusted({ $in: tenants }),
        status: mongoose.trusted({ $in: Object.keys(EVENT_BY_STATUS) as JobStatus[] }),
        finishedAt: mongoose.trusted({ $gte: new Date(from), $lte: new Date(to) }),
      })
        .sort({ finishedAt: 1 })
        .limit(REPAIR_BATCH)
        .lean(),
    );
    // A full batch leaves the rest for the next pass, from the last one read (inclusive:
    // checking that one again is cheap, skipping one that shares its instant is not).
    this.repairedUpTo = jobs.length === REPAIR_BATCH ? jobs.at(-1)!.finishedAt!.getTime() : to;
    let written = 0;
    for (const job of jobs) {
      const type = EVENT_BY_STATUS[job.status]!;
      const own = endpoints.filter((endpoint) => endpoint.tenantId === job.tenantId);
      const ids = subscribers(own, type, job).map((endpoint) => messageId(endpoint._id, job._id, type));
      const present = await runWithTenant(job.tenantId, () =>
        models.WebhookMessage.countDocuments({ _id: mongoose.trusted({ $in: ids }) }),
      );
      if (present === ids.length) continue;
      const added = await runWithTenant(job.tenantId, () => this.write(job, type, own));
      if (added > 0)
        log.warn({ tenantId: job.tenantId, jobId: job._id, added }, 'wrote webhook events a stopped process left unwritten');
      written += added;
    }
    if (written > 0) this.deps.wake();
    return written;
  }

  /** Inserts the deliveries (tenant scope); returns how many were new. */
  private async write(job: Generation, type: WebhookEventType, endpoints: WebhookEndpoint[]): Promise<number> {
    const targets = subscribers(endpoints, type, job);
    if (targets.length === 0) return 0;
    const payload = JSON.stringify({
      type,
      timestamp: (job.finishedAt ?? this.now()).toISOString(),
      data: await this.data(job),
    } satisfies WebhookPayload);
    const now = this.now();
    let written = 0;
    for (const endpoint of targets) {
      const message: Omit<WebhookMessage, 'tenantId' | 'createdAt' | 'updatedAt'> = {
        _id: messageId(endpoint._id, job._id, type),
        endpointId: endpoint._id,
        eventType: type,
        generationId: job._id,
        payload,
        status: 'pending',
        attempts: 0,
        lastAttempt: this.deps.attemptsPerDelivery,
        nextAttemptAt: now,
        error: null,
      };
      try {
        await this.deps.models.WebhookMessage.create(message);
        written += 1;
      } catch (error) {
        if ((error as { code?: number }).code !== 11000) throw error;
      }
    }
    return written;
  }

  private async data(job: Generation): Promise<WebhookGenerationData> {
    const { queue: _queue, images, ...view } = await this.deps.view(job);
    return {
      ...view,
      images: images.map(({ url: _url, ...image }) => image),
      finishedAt: job.finishedAt?.toISOString() ?? null,
    };
  }

  private now(): Date {
    return (this.deps.now ?? (() => new Date()))();
  }
}

/** Endpoints subscribed to the event that existed when the job ended (a new endpoint gets no history). */
function subscribers(endpoints: WebhookEndpoint[], type: WebhookEventType, job: Generation): WebhookEndpoint[] {
  const endedAt = job.finishedAt?.getTime() ?? Number.POSITIVE_INFINITY;
  return endpoints.filter((endpoint) => endpoint.events.includes(type) && endpoint.createdAt.getTime() <= endedAt);
}

/** The delivery's id (`webhook-id`): the same for the same endpoint, generation and event. */
export function messageId(endpointId: string, jobId: string, type: WebhookEventType): string {
  return `msg_${createHash('sha256').update(`${endpointId}\n${jobId}\n${type}`).digest().subarray(0, 15).toString('base64url')}`;
}
