import mongoose from 'mongoose';
import { AppError } from '../errors/app-error.js';
import type { Models } from '../models/index.js';
import { newId } from './ids.js';

const { trusted } = mongoose;

/**
 * A verified shopper's daily quota (`quota.generationsPerDay` of their shopper session),
 * counted per tenant, shopper and UTC day, whichever session the shopper comes back with.
 *
 * Each accepted generation takes a numbered slot, `quota:<shopper>:<day>:<n>` for n from 1
 * to the quota, as an `idempotency_keys` entry: the unique `(tenantId, key)` index lets one
 * insert win each number (FerretDB v1 runs a count-then-write as two steps, so a count
 * alone would let racing sockets past the quota). The entries go with their generation
 * (retention, redaction) and are swept after two days like every idempotency record.
 */
export class ShopperQuotas {
  constructor(private readonly deps: { models: Pick<Models, 'IdempotencyKey'>; now: () => Date }) {}

  /** Takes a slot of today's quota for `generationId`, or refuses (`rate_limited` until midnight UTC). */
  async claim(shopperId: string, perDay: number, generationId: string): Promise<{ release(): Promise<void> }> {
    const { IdempotencyKey } = this.deps.models;
    const now = this.deps.now();
    const prefix = `quota:${shopperId}:${now.toISOString().slice(0, 10)}:`;
    const taken = await IdempotencyKey.countDocuments({ key: trusted({ $gte: prefix, $lt: `${prefix}~` }) });
    for (let n = taken + 1; n <= perDay; n += 1) {
      const _id = newId('idk');
      try {
        await IdempotencyKey.create({ _id, key: `${prefix}${n}`, requestHash: 'daily-quota', generationId });
        return { release: async () => void (await IdempotencyKey.deleteOne({ _id })) };
      } catch (error) {
        if ((error as { code?: number }).code !== 11000) throw error;
      }
    }
    const midnight = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + 1);
    throw new AppError('rate_limited', `You have made today's ${perDay} pictures here; more tomorrow.`, {
      retryAfter: Math.max(1, Math.ceil((midnight - now.getTime()) / 1000)),
      details: { reason: 'daily_quota', generationsPerDay: perDay },
    });
  }
}
