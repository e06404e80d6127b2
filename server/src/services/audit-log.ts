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
}

/** The tenant-in-scope's append-only audit log. */
export class AuditLog {
  constructor(private readonly deps: { models: Models; now?: () => Date }) {}

  async record(action: AuditAction, record: AuditRecord): Promise<AuditEvent> {
    const tenantId = requireTenantId();
    const event = {
      _id: newId('aud'),
      at: (this.deps.now ?? (() => new Date()))(),
      action,
      actor: record.actor,
      target: record.target ?? null,
      details: record.details ?? {},
    };
    const created = await this.deps.models.AuditEvent.create(event);
    log.info({ tenantId, action, actor: record.actor.kind, target: record.target?.id }, 'audit');
    return created.toObject();
  }

  /** Newest first; `before` pages back from an entry's time. */
  async list(limit: number, before?: Date): Promise<AuditEvent[]> {
    const filter = before ? { at: mongoose.trusted({ $lt: before }) } : {};
    return this.deps.models.AuditEvent.find(filter).sort({ at: -1, _id: -1 }).limit(limit).lean();
  }
}
