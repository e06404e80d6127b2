import mongoose from 'mongoose';
import {
  MAX_WEBHOOK_ENDPOINTS,
  type CreatedWebhookEndpointBody,
  type RotatedWebhookSecretBody,
  type WebhookEndpointBody,
  type WebhookEndpointListBody,
} from '@atelier/protocol';
import type { CreateWebhookEndpointInput, UpdateWebhookEndpointInput } from '@atelier/protocol/schemas';
import { conflict, invalidRequest, notFound } from '../../errors/app-error.js';
import { createLogger } from '../../logging/logger.js';
import type { AuditActor } from '../../models/audit-event.model.js';
import type { Models } from '../../models/index.js';
import type { WebhookEndpoint } from '../../models/webhook-endpoint.model.js';
import { webhookSecretId, type WebhookSecret } from '../../models/webhook-secret.model.js';
import type { OutgoingHttp } from '../../net/outgoing-http.js';
import { findOwnById } from '../../tenancy/find-own-by-id.js';
import { requireTenantId } from '../../tenancy/tenant-context.js';
import type { AuditLog } from '../audit-log.js';
import { newId } from '../ids.js';
import { newWebhookSecret } from './webhook-signature.js';

const log = createLogger('webhook-endpoints');

export interface WebhookEndpointsDeps {
  models: Models;
  outgoing: Pick<OutgoingHttp, 'check'>;
  /** The tenant's log records every change to an endpoint: it holds a secret and says where the tenant's data goes. */
  audit: AuditLog;
  now?: () => Date;
}

/** A rotation that keeps losing the race for the next secret number gives up after this many tries. */
const ROTATION_TRIES = 5;

/**
 * A tenant's webhook endpoints (`/v1/webhook-endpoints`), in the tenant's scope: every
 * read and write goes through the tenant plugin, so another tenant's endpoint is simply
 * not found. Secrets are shown once, when created or rotated.
 */
export class WebhookEndpoints {
  constructor(private readonly deps: WebhookEndpointsDeps) {}

  async list(limit: number, cursor?: string): Promise<WebhookEndpointListBody> {
    const { WebhookEndpoint: Endpoints } = this.deps.models;
    let filter = {};
    if (cursor) {
      const after = await findOwnById(Endpoints, cursor);
      if (!after) throw invalidRequest('cursor does not name a webhook endpoint of yours');
      filter = {
        $or: [
          { createdAt: mongoose.trusted({ $lt: after.createdAt }) },
          { createdAt: after.createdAt, _id: mongoose.trusted({ $lt: after._id }) },
        ],
      };
    }
    const page = await Endpoints.find(filter)
      .sort({ createdAt: -1, _id: -1 })
      .limit(limit + 1)
      .lean();
    const data = page.slice(0, limit).map(present);
    return { data, nextCursor: page.length > limit ? (data.at(-1)?.id ?? null) : null };
  }

  async get(id: string): Promise<WebhookEndpointBody> {
    return present(await this.find(id));
  }

  /** The endpoint, or 404 (another tenant's endpoint is not found either). */
  async find(id: string): Promise<WebhookEndpoint> {
    const endpoint = await findOwnById(this.deps.models.WebhookEndpoint, id);
    if (!endpoint) throw notFound('That webhook endpoint');
    return endpoint;
  }

  async create(input: CreateWebhookEndpointInput, actor: AuditActor): Promise<CreatedWebhookEndpointBody> {
    const { WebhookEndpoint: Endpoints } = this.deps.models;
    await this.checkUrl(input.url);
    // Counted, then inserted: two concurrent creations may pass one over the limit, which is harmless.
    if ((await Endpoints.countDocuments()) >= MAX_WEBHOOK_ENDPOINTS) {
      throw conflict(`You have ${MAX_WEBHOOK_ENDPOINTS} webhook endpoints, the most there may be; delete one first.`);
    }
    const now = this.now();
    const id = newId('wep');
    const secret = newWebhookSecret();
    // The secret first: an endpoint is never visible (or sent to) without one.
    await this.deps.models.WebhookSecret.create(secretRecord(id, 1, secret, null, now));
    const endpoint = await Endpoints.create({
      _id: id,
      url: input.url,
      description: input.description,
      events: input.events,
      enabled: true,
      disabledReason: null,
      disabledAt: null,
    });
    log.info({ tenantId: requireTenantId(), endpointId: id, events: input.events }, 'webhook endpoint created');
    await this.deps.audit.record('webhook.created', {
      actor,
      target: { kind: 'webhook_endpoint', id },
      details: { url: input.url, events: input.events },
    });
    return { ...present(endpoint.toObject()), secret };
  }

  async update(id: string, changes: UpdateWebhookEndpointInput, actor: AuditActor): Promise<WebhookEndpointBody> {
    const { WebhookEndpoint: Endpoints } = this.deps.models;
    const endpoint = await this.find(id);
    if (changes.url !== undefined) await this.checkUrl(changes.url);
    const set: Partial<WebhookEndpoint> = {
      ...(changes.url !== undefined && { url: changes.url }),
      ...(changes.events !== undefined && { events: changes.events }),
      ...(changes.description !== undefined && { description: changes.description }),
      ...(changes.enabled === true && { enabled: true, disabledReason: null, disabledAt: null }),
      ...(changes.enabled === false && { enabled: false, disabledReason: 'disabled_by_tenant' as const, disabledAt: this.now() }),
    };
    await Endpoints.updateOne({ _id: id }, { $set: set });
    log.info({ tenantId: endpoint.tenantId, endpointId: id, changed: Object.keys(changes) }, 'webhook endpoint updated');
    const fields = Object.keys(changes) as (keyof UpdateWebhookEndpointInput)[];
    await this.deps.audit.record('webhook.updated', {
      actor,
      target: { kind: 'webhook_endpoint', id },
      details: {
        fields,
        before: Object.fromEntries(fields.map((field) => [field, endpoint[field]])),
        after: Object.fromEntries(fields.map((field) => [field, changes[field]])),
      },
    });
    return present({ ...endpoint, ...set, updatedAt: this.now() });
  }

  /** Deletes the endpoint with its secrets and delivery log; deliveries due to it are never sent. */
  async delete(id: string, actor: AuditActor): Promise<{ id: string; deleted: true }> {
    const { models } = this.deps;
    const endpoint = await this.find(id);
    await models.WebhookEndpoint.deleteOne({ _id: id });
    await models.WebhookSecret.deleteMany({ endpointId: id });
    await models.WebhookMessage.deleteMany({ endpointId: id });
    await models.WebhookAttempt.deleteMany({ endpointId: id });
    log.info({ tenantId: requireTenantId(), endpointId: id }, 'webhook endpoint deleted');
    await this.deps.audit.record('webhook.deleted', {
      actor,
      target: { kind: 'webhook_endpoint', id },
      details: { url: endpoint.url },
    });
    return { id, deleted: true };
  }

  /**
   * A new secret, inserted as the next number (of two racing rotations, one insert
   * wins and the other takes the number after it). The previous secret keeps signing
   * beside it for `graceSeconds`.
   */
  async rotateSecret(id: string, graceSeconds: number, actor: AuditActor): Promise<RotatedWebhookSecretBody> {
    await this.find(id);
    for (let attempt = 0; attempt < ROTATION_TRIES; attempt += 1) {
      const [latest] = await this.secrets(id);
      const now = this.now();
      const seq = (latest?.seq ?? 0) + 1;
      const previousExpiresAt = new Date(now.getTime() + graceSeconds * 1000);
      const secret = newWebhookSecret();
      try {
        await this.deps.models.WebhookSecret.create(secretRecord(id, seq, secret, previousExpiresAt, now));
      } catch (error) {
        if ((error as { code?: number }).code === 11000) continue;
        throw error;
      }
      log.info({ tenantId: requireTenantId(), endpointId: id, seq }, 'webhook secret rotated');
      await this.deps.audit.record('webhook.secret_rotated', {
        actor,
        target: { kind: 'webhook_endpoint', id },
        details: { secretNumber: seq, graceSeconds, previousSecretExpiresAt: previousExpiresAt.toISOString() },
      });
      return { secret, previousSecretExpiresAt: previousExpiresAt.toISOString() };
    }
    throw conflict('The secret is being rotated by other requests right now; try again.');
  }

  /**
   * The secrets that sign now: the newest, then each older one while its successor's
   * grace lasts. A rotation's grace also bounds every older secret's (a rotation with no
   * grace stops all of them), so the walk stops at the first grace that has ended.
   */
  async signingSecrets(endpointId: string, now = this.now()): Promise<string[]> {
    const secrets = await this.secrets(endpointId);
    const signing = secrets.slice(0, 1);
    for (let i = 1; i < secrets.length; i += 1) {
      const successor = secrets[i - 1]!;
      if (successor.seq !== secrets[i]!.seq + 1 || (successor.predecessorExpiresAt?.getTime() ?? 0) <= now.getTime()) break;
      signing.push(secrets[i]!);
    }
    return signing.map((secret) => secret.secret);
  }

  /** Newest first. */
  private async secrets(endpointId: string): Promise<WebhookSecret[]> {
    return this.deps.models.WebhookSecret.find({ endpointId }).sort({ seq: -1 }).limit(50).lean();
  }

  /**
   * Refuses a URL whose host is, or resolves to, an address the server may not send to
   * (private, loopback, link-local, metadata…). A host that does not resolve yet is
   * accepted: every delivery checks again before it connects.
   */
  private async checkUrl(url: string): Promise<void> {
    const verdict = await this.deps.outgoing.check(new URL(url));
    if (verdict.ok || verdict.unresolvable) return;
    throw invalidRequest(`url: webhooks cannot be sent there: ${verdict.reason}`, {
      errors: [{ field: 'url', message: `webhooks cannot be sent there: ${verdict.reason}` }],
    });
  }

  private now(): Date {
    return (this.deps.now ?? (() => new Date()))();
  }
}

function secretRecord(endpointId: string, seq: number, secret: string, predecessorExpiresAt: Date | null, now: Date) {
  return { _id: webhookSecretId(endpointId, seq), endpointId, seq, secret, predecessorExpiresAt, createdAt: now };
}

export function present(endpoint: WebhookEndpoint): WebhookEndpointBody {
  return {
    id: endpoint._id,
    url: endpoint.url,
    description: endpoint.description,
    events: endpoint.events,
    enabled: endpoint.enabled,
    disabledReason: endpoint.disabledReason ?? null,
    createdAt: endpoint.createdAt.toISOString(),
    updatedAt: endpoint.updatedAt.toISOString(),
  };
}
