import { RUNNER_TOKEN_PATTERN, type CreatedRunnerTokenBody } from '@atelier/protocol';
import type { AuditActor } from '../models/audit-event.model.js';
import type { Models } from '../models/index.js';
import { newId, newSecret, sha256 } from './ids.js';
import { PlatformAuditLog } from './platform-audit-log.js';

export type RunnerTokenCheck = { ok: true; tokenId: string } | { ok: false; reason: string };

export class RunnerTokenService {
  private readonly platformAudit: PlatformAuditLog;

  constructor(private readonly deps: { models: Models; platformAudit?: PlatformAuditLog }) {
    this.platformAudit = deps.platformAudit ?? new PlatformAuditLog({ models: deps.models });
  }

  async create(name = '', actor: AuditActor = { kind: 'system' }): Promise<CreatedRunnerTokenBody> {
    const token = newSecret('rt_');
    const id = newId('rtk');
    await this.deps.models.RunnerToken.create({ _id: id, hash: sha256(token), name });
    await this.platformAudit.record('runner_token.created', {
      actor,
      target: { kind: 'runner_token', id },
      details: { name },
    });
    return { id, token };
  }

  async verify(raw: string | undefined): Promise<RunnerTokenCheck> {
    if (!raw || !RUNNER_TOKEN_PATTERN.test(raw)) return { ok: false, reason: 'not a runner token' };
    const record = await this.deps.models.RunnerToken.findOne({ hash: sha256(raw), revokedAt: null }).lean();
    return record ? { ok: true, tokenId: record._id } : { ok: false, reason: 'unknown or revoked runner token' };
  }
}
