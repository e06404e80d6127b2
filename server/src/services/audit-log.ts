import { createHash } from 'node:crypto';
import mongoose from 'mongoose';
import type { AuditAction, AuditActor, AuditEvent } from '../models/audit-event.model.js';
import type { Models } from '../models/index.js';
import { createLogger } from '../logging/logger.js';
import { requireTenantId } from '../tenancy/tenant-context.js';
import { newId } from './ids.js';

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

/** The tenant-in-scope's append-only audit log. */
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

  /** Newest first; `before` pages back from an entry's time. */
  async list(limit: number, before?: Date): Promise<AuditEvent[]> {
    const filter = before ? { at: mongoose.trusted({ $lt: before }) } : {};
    return this.deps.models.AuditEvent.find(filter).sort({ at: -1, _id: -1 }).limit(limit).lean();
  }
}

/** An id shaped as `newId('aud')`'s, the same for the same `once` key (a hash of it). */
function onceId(key: string): string {
  return `aud_${createHash('sha256').update(key).digest('base64url').slice(0, 20)}`;
}
