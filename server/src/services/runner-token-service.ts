import { RUNNER_TOKEN_PATTERN, type CreatedRunnerTokenBody } from '@atelier/protocol';
import type { Models } from '../models/index.js';
import { newId, newSecret, sha256 } from './ids.js';

export type RunnerTokenCheck = { ok: true; tokenId: string } | { ok: false; reason: string };

export class RunnerTokenService {
  constructor(private readonly deps: { models: Models }) {}

  async create(name = ''): Promise<CreatedRunnerTokenBody> {
    const token = newSecret('rt_');
    const id = newId('rtk');
    await this.deps.models.RunnerToken.create({ _id: id, hash: sha256(token), name });
    return { id, token };
  }

  async verify(raw: string | undefined): Promise<RunnerTokenCheck> {
    if (!raw || !RUNNER_TOKEN_PATTERN.test(raw)) return { ok: false, reason: 'not a runner token' };
    const record = await this.deps.models.RunnerToken.findOne({ hash: sha256(raw), revokedAt: null }).lean();
    return record ? { ok: true, tokenId: record._id } : { ok: false, reason: 'unknown or revoked runner token' };
  }
}
