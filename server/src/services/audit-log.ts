import { createHash } from 'node:crypto';
import mongoose from 'mongoose';
import type { AuditAction, AuditEventBody, AuditEventListBody } from '@atelier/protocol';
import type { AuditActor, AuditEvent } from '../models/audit-event.model.js';
import type { Models } from '../models/index.js';
import { invalidRequest } from '../errors/app-error.js';
import { createLogger } from '../logging/logger.js';
import { requireTenantId } from '../tenancy/tenant-context.js';
import { newId } from './ids.js';

const { trusted } = mongoose;
const log = createLogger('audit-log');

export interface AuditRecord {
  actor: AuditActor;
  target?: { kind: string; id: string };
  /** Safe facts only: never a secret, never a prompt. */
  details?: Record<string, unknown>;
  /**
   * Names the event for good, for work that a retry finishes (a deletion cut short):
   * recording it again records nothing and answers the first entry.
   */
  once?: string;
}

export interface AuditQuery {
  limit: number;
  /** The `nextCursor` of the previous page: the id of its last entry. */
  cursor?: string | undefined;
  action?: AuditAction | undefined;
}

/**
 * The tenant-in-scope's append-only audit log. Nothing here (or anywhere) changes an
 * entry: the model refuses every update, and deletes outside a tenant's deletion.
 */
export class AuditLog {
  constructor(private readonly deps: { models: Models; now?: () => Date }) {}

  async record(action: AuditAction, record: AuditRecord): Promise<AuditEvent> {
    const tenantId = requireTenantId();
    const event = {
      _id: record.once === undefined ? newId('aud') : onceId(record.once),
      at: (this.deps.now ?? (() => new Date()))(),
      action,
      actor: record.actor,
      target: record.target ?? null,
      details: record.details ?? {},
    };
    const created = await this.deps.models.AuditEvent.create(event).catch((error: unknown) => {
      // Only an insert under a unique index is atomic on FerretDB: the `_id` decides which retry records it.
      if ((error as { code?: number }).code !== 11000 || record.once === undefined) throw error;
      return undefined;
    });
    if (!created) return (await this.deps.models.AuditEvent.findById(event._id).lean())!;
    log.info({ tenantId, action, actor: record.actor.kind, target: record.target?.id }, 'audit');
    return created.toObject();
  }

  /** Newest first, paged as `GET /v1/generations` is (see `pageOfEvents`). */
  async list(query: AuditQuery): Promise<AuditEventListBody> {
    return pageOfEvents(this.deps.models.AuditEvent, query, 'cursor does not name an audit event of yours');
  }
}

/** The part of a model `pageOfEvents` uses: structural, so the tenant's and the platform's models both fit without a cast. */
interface AuditEventStore<Event extends { _id: string; at: Date; action: string }> {
  findById(id: string): { select(fields: { at: 1 }): { lean(): PromiseLike<Pick<Event, '_id' | 'at'> | null> } };
  find(filter: Record<string, unknown>): {
    sort(order: { at: -1; _id: -1 }): { limit(n: number): { lean(): PromiseLike<Event[]> } };
  };
}

/**
 * One page of an audit log, newest first: the cursor is the last id of the previous
 * page, and the next page starts after that entry's (time, id).
 */
export async function pageOfEvents<Action extends string, Event extends AuditEventRecord<Action>>(
  Events: AuditEventStore<Event>,
  { limit, cursor, action }: { limit: number; cursor?: string | undefined; action?: Action | undefined },
  unknownCursor: string,
): Promise<AuditEventListBody<Action>> {
  const filter: Record<string, unknown> = action ? { action } : {};
  if (cursor) {
    const after = await Events.findById(cursor).select({ at: 1 }).lean();
    if (!after) throw invalidRequest(unknownCursor);
    filter.$or = [{ at: trusted({ $lt: after.at }) }, { at: after.at, _id: trusted({ $lt: after._id }) }];
  }
  const page = await Events.find(filter)
    .sort({ at: -1, _id: -1 })
    .limit(limit + 1)
    .lean();
  const data = page.slice(0, limit).map((event) => present<Action>(event));
  return { data, nextCursor: page.length > limit ? (data.at(-1)?.id ?? null) : null };
}

/** The fields every audit entry has, in either log. */
export interface AuditEventRecord<Action extends string = AuditAction> {
  _id: string;
  at: Date;
  action: Action;
  actor: AuditActor;
  target: { kind: string; id: string } | null;
  details: Record<string, unknown>;
}

/** An id shaped as `newId('aud')`'s, the same for the same `once` key (a hash of it). */
function onceId(key: string): string {
  return `aud_${createHash('sha256').update(key).digest('base64url').slice(0, 20)}`;
}

export function present<Action extends string = AuditAction>(event: AuditEventRecord<Action>): AuditEventBody<Action> {
  return {
    id: event._id,
    at: event.at.toISOString(),
    action: event.action,
    actor: { kind: event.actor.kind, ...(event.actor.id ? { id: event.actor.id } : {}) },
    target: event.target ?? null,
    details: event.details ?? {},
  };
}
