import mongoose from 'mongoose';
import { WEBHOOK_HEADERS } from '@atelier/protocol';
import { createLogger } from '../../logging/logger.js';
import type { Models } from '../../models/index.js';
import { webhookAttemptId, type WebhookAttempt } from '../../models/webhook-attempt.model.js';
import type { WebhookMessage } from '../../models/webhook-message.model.js';
import type { OutgoingAnswer } from '../../net/outgoing-http.js';
import { findOwnById } from '../../tenancy/find-own-by-id.js';
import { runAsSystem, runWithTenant } from '../../tenancy/tenant-context.js';
import { retryDelayMs } from './retry-schedule.js';
import type { WebhookEndpoints } from './webhook-endpoints.js';
import { signatureHeader } from './webhook-signature.js';

const log = createLogger('webhook-deliverer');

/** Deliveries read per pass, and sent at once. */
const BATCH = 50;
const PARALLEL = 8;
/** The receiver's answer kept in the log. */
const EXCERPT_CHARS = 1_000;
/** Finished deliveries (and their attempts) are kept this long in the log. */
export const DELIVERY_LOG_DAYS = 30;
const PRUNE_BATCH = 500;
/** How soon a delivery another process is attempting is looked at again. */
const IN_FLIGHT_RECHECK_MS = 1_000;
/** A finished attempt whose claimant has not written the delivery after this long is taken for dead. */
const SETTLE_GRACE_MS = 5_000;

export interface WebhookDelivererDeps {
  models: Models;
  outgoing: { post(url: URL, body: string, headers: Record<string, string>): Promise<OutgoingAnswer> };
  endpoints: Pick<WebhookEndpoints, 'signingSecrets'>;
  /** Waits after each failed attempt (retry-schedule.ts). */
  schedule: readonly number[];
  pollMs: number;
  /** An attempt claimed longer ago than this without a result was abandoned (its process stopped): the request's time limit and a margin. */
  abandonedAfterMs: number;
  serverId: string;
  now?: () => Date;
  random?: () => number;
}

type Next = NonNullable<WebhookAttempt['next']>;

/**
 * Sends due deliveries from the outbox. Any number of server processes run one each:
 * attempt n of a delivery is claimed by inserting `webhook_attempts` `<id>:<n>` (one
 * insert wins), so each attempt is sent once however many processes see it due. The
 * claimant records what happened on its attempt and then moves the delivery on
 * (delivered, retried after the schedule's wait, or failed). If it stops in between,
 * the next process to see the delivery due applies what the attempt recorded, or,
 * when the attempt never finished, counts it as failed and schedules the next one.
 */
export class WebhookDeliverer {
  private timer: NodeJS.Timeout | undefined;
  private pass: Promise<void> | undefined;
  private again = false;
  private running = false;

  constructor(private readonly deps: WebhookDelivererDeps) {}

  start(): void {
    this.running = true;
    this.wake();
  }

  async stop(): Promise<void> {
    this.running = false;
    clearTimeout(this.timer);
    await this.pass;
  }

  /**
   * Deletes deliveries finished more than DELIVERY_LOG_DAYS ago with their attempts, so
   * that the outbox, which FerretDB scans whole for the due ones, stays small.
   */
  async prune(): Promise<number> {
    const { WebhookMessage: Messages, WebhookAttempt: Attempts } = this.deps.models;
    const before = new Date(this.now().getTime() - DELIVERY_LOG_DAYS * 86_400_000);
    return runAsSystem('webhooks: prune the delivery log', async () => {
      const old = await Messages.find({
        status: mongoose.trusted({ $ne: 'pending' }),
        updatedAt: mongoose.trusted({ $lt: before }),
      })
        .limit(PRUNE_BATCH)
        .select({ _id: 1 })
        .lean();
      if (old.length === 0) return 0;
      const ids = old.map((message) => message._id);
      // Attempts first: a delivery is never left with attempts nothing points at.
      await Attempts.deleteMany({ messageId: mongoose.trusted({ $in: ids }) });
      await Messages.deleteMany({ _id: mongoose.trusted({ $in: ids }) });
      return ids.length;
    });
  }

  /** Runs a pass now (or right after the one in progress). */
  wake(): void {
    if (!this.running) return;
    if (this.pass) {
      this.again = true;
      return;
    }
    clearTimeout(this.timer);
    let soonest: { at: number; waiting: boolean } | undefined;
    this.pass = this.run()
      .then((next) => {
        soonest = next;
      })
      .catch((error: unknown) => log.error({ err: error }, 'webhook delivery pass failed'))
      .finally(() => {
        this.pass = undefined;
        if (!this.running) return;
        if (this.again) {
          this.again = false;
          this.wake();
          return;
        }
        // New events and redeliveries wake this process at once; the next retry due wakes
        // it then; the poll is for the rest (another process's new events, when that one stops).
        // A delivery due already is either one that came due during the pass (run again
        // now) or one this pass could not attempt (another process's attempt in flight, or
        // an error): look at that again in a while.
        const untilDue = soonest === undefined ? Infinity : soonest.at - this.now().getTime();
        const wait = Math.min(this.deps.pollMs, untilDue > 0 ? untilDue : soonest?.waiting ? IN_FLIGHT_RECHECK_MS : 0);
        this.timer = setTimeout(() => this.wake(), wait);
        this.timer.unref();
      });
  }

  /** One pass over the due deliveries; returns when the next pending one is due, and whether this pass left it waiting. */
  private async run(): Promise<{ at: number; waiting: boolean } | undefined> {
    const { WebhookMessage: Messages } = this.deps.models;
    const due = await runAsSystem('webhooks: deliveries due', () =>
      Messages.find({ status: 'pending', nextAttemptAt: mongoose.trusted({ $lte: this.now() }) })
        .sort({ nextAttemptAt: 1 })
        .limit(BATCH)
        .lean(),
    );
    if (due.length === BATCH) this.again = true;
    const waiting = new Set<string>();
    for (let i = 0; i < due.length && this.running; i += PARALLEL) {
      await Promise.all(
        due.slice(i, i + PARALLEL).map((message) =>
          runWithTenant(message.tenantId, () => this.attempt(message)).then(
            (made) => {
              if (!made) waiting.add(message._id);
            },
            (error: unknown) => {
              waiting.add(message._id);
              log.error(
                { err: error, tenantId: message.tenantId, deliveryId: message._id },
                'webhook attempt failed unexpectedly',
              );
            },
          ),
        ),
      );
    }
    // Whoever scheduled it (this process or another), the next retry wakes every process
    // then; one of them wins its claim.
    const [next] = await runAsSystem('webhooks: next delivery due', () =>
      Messages.find({ status: 'pending' }).sort({ nextAttemptAt: 1 }).limit(1).select({ nextAttemptAt: 1 }).lean(),
    );
    return next?.nextAttemptAt ? { at: next.nextAttemptAt.getTime(), waiting: waiting.has(next._id) } : undefined;
  }

  /** Claims and makes the delivery's next attempt (tenant scope); false when another process holds the claim. */
  private async attempt(message: WebhookMessage): Promise<boolean> {
    const { models } = this.deps;
    const n = message.attempts + 1;
    const id = webhookAttemptId(message._id, n);
    const claimedAt = this.now();
    try {
      await models.WebhookAttempt.create({
        _id: id,
        messageId: message._id,
        endpointId: message.endpointId,
        attempt: n,
        serverId: this.deps.serverId,
        claimedAt,
      });
    } catch (error) {
      if ((error as { code?: number }).code === 11000) {
        await this.recover(message, n);
        return false;
      }
      throw error;
    }
    const endpoint = await findOwnById(models.WebhookEndpoint, message.endpointId);
    if (!endpoint?.enabled) {
      const next: Next = {
        status: 'failed',
        nextAttemptAt: null,
        error: endpoint ? 'The endpoint is disabled.' : 'The endpoint was deleted.',
      };
      await models.WebhookAttempt.updateOne({ _id: id }, { $set: { finishedAt: this.now(), skipped: true, next } });
      await this.settle(message, n, next);
      return true;
    }
    const timestamp = Math.floor(claimedAt.getTime() / 1000);
    const secrets = await this.deps.endpoints.signingSecrets(endpoint._id, claimedAt);
    const answer = await this.deps.outgoing.post(new URL(endpoint.url), message.payload, {
      'content-type': 'application/json',
      'user-agent': 'Atelier-Webhooks/1.0',
      [WEBHOOK_HEADERS.id]: message._id,
      [WEBHOOK_HEADERS.timestamp]: String(timestamp),
      [WEBHOOK_HEADERS.signature]: signatureHeader(secrets, message._id, timestamp, message.payload),
    });
    const { next, error } = this.outcome(answer, n, message.lastAttempt);
    await models.WebhookAttempt.updateOne(
      { _id: id },
      {
        $set: {
          finishedAt: this.now(),
          statusCode: answer.statusCode,
          durationMs: answer.durationMs,
          error,
          responseExcerpt: answer.body.slice(0, EXCERPT_CHARS),
          next,
        },
      },
    );
    await this.settle(message, n, next);
    const logged = { tenantId: message.tenantId, endpointId: endpoint._id, deliveryId: message._id, attempt: n };
    if (answer.statusCode === 410) {
      await models.WebhookEndpoint.updateOne(
        { _id: endpoint._id },
        { $set: { enabled: false, disabledReason: 'gone', disabledAt: this.now() } },
      );
      log.warn(logged, 'webhook endpoint answered 410 Gone: disabled');
    } else if (next.status === 'delivered') {
      log.info({ ...logged, statusCode: answer.statusCode }, 'webhook delivered');
    } else {
      log.info({ ...logged, statusCode: answer.statusCode, error, next: next.status }, 'webhook attempt failed');
    }
    return true;
  }

  /** What an answer makes of the delivery: 2xx delivered; 410 failed for good; otherwise the next attempt, if any is left. */
  private outcome(answer: OutgoingAnswer, n: number, lastAttempt: number): { next: Next; error: string | null } {
    const status = answer.statusCode;
    if (status !== null && status >= 200 && status < 300) {
      return { next: { status: 'delivered', nextAttemptAt: null, error: null }, error: null };
    }
    const error =
      answer.error ??
      (status !== null && status >= 300 && status < 400
        ? `answered ${status} (redirects are not followed)`
        : `answered ${status ?? 'nothing'}`);
    if (status === 410) {
      return {
        next: { status: 'failed', nextAttemptAt: null, error: 'The endpoint answered 410 Gone and was disabled.' },
        error,
      };
    }
    return { next: this.retry(n, lastAttempt), error };
  }

  private retry(n: number, lastAttempt: number): Next {
    const delay = n < lastAttempt ? retryDelayMs(this.deps.schedule, n, this.deps.random) : undefined;
    if (delay === undefined) return { status: 'failed', nextAttemptAt: null, error: `No attempt succeeded (${n} made).` };
    return { status: 'pending', nextAttemptAt: new Date(this.now().getTime() + delay), error: null };
  }

  /** Moves the delivery on from attempt n; a no-op if it has moved on already. */
  private async settle(message: WebhookMessage, n: number, next: Next): Promise<void> {
    await this.deps.models.WebhookMessage.updateOne(
      { _id: message._id, attempts: n - 1 },
      { $set: { attempts: n, status: next.status, nextAttemptAt: next.nextAttemptAt, error: next.error } },
    );
  }

  /** Attempt n is claimed already: in flight elsewhere, or left behind by a process that stopped. */
  private async recover(message: WebhookMessage, n: number): Promise<void> {
    const { models } = this.deps;
    const held = await findOwnById(models.WebhookAttempt, webhookAttemptId(message._id, n));
    if (!held) return;
    const now = this.now().getTime();
    if (held.finishedAt && held.next) {
      if (now - held.finishedAt.getTime() > SETTLE_GRACE_MS) await this.settle(message, n, held.next);
      return;
    }
    if (now - held.claimedAt.getTime() <= this.deps.abandonedAfterMs) return;
    const next = this.retry(n, message.lastAttempt);
    await models.WebhookAttempt.updateOne(
      { _id: held._id, finishedAt: null },
      { $set: { finishedAt: this.now(), error: 'The server process making this attempt stopped before it finished.', next } },
    );
    log.warn(
      { tenantId: message.tenantId, deliveryId: message._id, attempt: n, by: held.serverId },
      'webhook attempt abandoned by a stopped process',
    );
    await this.settle(message, n, next);
  }

  private now(): Date {
    return (this.deps.now ?? (() => new Date()))();
  }
}
