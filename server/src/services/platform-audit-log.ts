import type { PlatformAuditAction, PlatformAuditEventBody, PlatformAuditEventListBody } from '@atelier/protocol';
import type { AuditActor } from '../models/audit-event.model.js';
import type { Models } from '../models/index.js';
import { createLogger } from '../logging/logger.js';
import { runAsSystem } from '../tenancy/tenant-context.js';
import { pageOfEvents, present } from './audit-log.js';
import { newId } from './ids.js';

const log = createLogger('platform-audit-log');

export interface PlatformAuditRecord {
  actor: AuditActor;
  target?: { kind: string; id: string };
  /** Safe facts only: never a token, never key material. */
  details?: Record<string, unknown>;
}

export interface PlatformAuditQuery {
  limit: number;
  /** The `nextCursor` of the previous page: the id of its last entry. */
  cursor?: string | undefined;
  action?: PlatformAuditAction | undefined;
}

/**
 * The platform's append-only audit log: operator actions that belong to no tenant (plans,
 * runner tokens, the shopper-session signing key). Read by the operator only
 * (`GET /admin/v1/audit-events`, `atelier platform audit`).
 */
export class PlatformAuditLog {
  constructor(private readonly deps: { models: Models; now?: () => Date }) {}

  async record(action: PlatformAuditAction, record: PlatformAuditRecord): Promise<PlatformAuditEventBody> {
    const event = {
      _id: newId('aud'),
      at: (this.deps.now ?? (() => new Date()))(),
      action,
      actor: record.actor,
      target: record.target ?? null,
      details: record.details ?? {},
    };
    const created = await runAsSystem(`platform audit: ${action}`, () => this.deps.models.PlatformAuditEvent.create(event));
    log.info({ action, actor: record.actor.kind, target: record.target?.id }, 'platform audit');
    return present(created.toObject());
  }

  /** Newest first, paged as a tenant's log is. */
  list(query: PlatformAuditQuery): Promise<PlatformAuditEventListBody> {
    return runAsSystem('read the platform audit log', () =>
      pageOfEvents(this.deps.models.PlatformAuditEvent, query, 'cursor does not name a platform audit event'),
    );
  }
}
