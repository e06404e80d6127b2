import { createHash, randomInt } from 'node:crypto';
import mongoose from 'mongoose';
import {
  BASE62_ALPHABET,
  KEY_BODY_LENGTH,
  KEY_PREFIXES,
  KEY_SCOPES,
  LEGACY_PUBLISHABLE_KEY_PATTERN,
  LEGACY_SECRET_KEY_PATTERN,
  PUBLISHABLE_KEY_PATTERN,
  SECRET_KEY_PATTERN,
  isWellFormedKey,
  keyChecksum,
  type CreatedKeyBody,
  type KeyBody,
  type KeyKind,
  type KeyListBody,
  type KeyMode,
  type KeyScope,
} from '@atelier/protocol';
import type { CreateKeyInput, RotateKeyInput } from '@atelier/protocol/schemas';
import { conflict, invalidRequest, notFound } from '../errors/app-error.js';
import { createLogger } from '../logging/logger.js';
import type { AuditActor } from '../models/audit-event.model.js';
import { effectiveScopes, type ApiKey } from '../models/api-key.model.js';
import type { Models } from '../models/index.js';
import type { Tenant } from '../models/tenant.model.js';
import { requireTenantId, runAsSystem, runWithTenant } from '../tenancy/tenant-context.js';
import type { AuditLog } from './audit-log.js';
import { newId, sha256 } from './ids.js';
import { requireScopes } from './scopes.js';

export type { KeyMode };

const log = createLogger('key-service');

/**
 * `lastUsedAt` is a hint for people ("used 3 minutes ago"), not an audit trail, so it
 * is written at most once a minute per key rather than on every request.
 */
export const LAST_USED_RESOLUTION_MS = 60_000;

export interface IssuedKeys {
  secretKey: string;
  publishableKey: string;
}

/** The key a request was made with, as the routes and the rate limiter need it. */
export interface VerifiedKey {
  id: string;
  kind: KeyKind;
  mode: KeyMode;
  scopes: KeyScope[];
  requestsPerMinute: number | null;
}

export type KeyCheck =
  | { ok: true; tenant: Tenant; key: VerifiedKey }
  | { ok: false; reason: 'malformed' | 'bad checksum' | 'unknown' | 'revoked' | 'expired' | 'tenant inactive' };

export interface KeyServiceDeps {
  models: Models;
  audit: AuditLog;
  /** The clock expiry, rotation grace and `lastUsedAt` go by (tests drive it). */
  now?: () => Date;
}

/**
 * Issues, checks, lists, rotates and revokes tenants' API keys. A key is shown once,
 * when it is made; only its SHA-256 and a hint are stored. A checksummed key whose
 * checksum fails is refused before the database is asked anything.
 */
export class KeyService {
  /** When this process last wrote each key's `lastUsedAt`. */
  private readonly touched = new Map<string, number>();
  private readonly now: () => Date;

  constructor(private readonly deps: KeyServiceDeps) {
    this.now = deps.now ?? (() => new Date());
  }

  /** A new tenant's first keys: one secret key holding every scope, one publishable key. */
  async issue(tenantId: string, mode: KeyMode, label = '', actor: AuditActor = { kind: 'system' }): Promise<IssuedKeys> {
    return runWithTenant(tenantId, async () => {
      const secret = await this.insert({ kind: 'secret', mode, label, scopes: [...KEY_SCOPES] }, actor);
      const publishable = await this.insert({ kind: 'publishable', mode, label }, actor);
      return { secretKey: secret.key, publishableKey: publishable.key };
    });
  }

  verifySecretKey(raw: string | undefined): Promise<KeyCheck> {
    return this.verify(raw, 'secret');
  }

  verifyPublishableKey(raw: string | undefined): Promise<KeyCheck> {
    return this.verify(raw, 'publishable');
  }

  /**
   * Whether a key verified earlier still stands: a socket admitted with a key asks again
   * before each piece of work, so revoking it, or its expiry (a rotation's grace ending
   * included), reaches connections already open, not only new ones.
   */
  async standing(tenantId: string, keyId: string): Promise<'valid' | 'revoked' | 'expired'> {
    const key = await runWithTenant(tenantId, () =>
      this.deps.models.ApiKey.findById(keyId).select({ revokedAt: 1, expiresAt: 1 }).lean(),
    );
    if (!key || key.revokedAt) return 'revoked';
    if (key.expiresAt && key.expiresAt <= this.now()) return 'expired';
    return 'valid';
  }

  /** The tenant-in-scope's keys, newest first; the cursor is the last id of the previous page. */
  async list(limit: number, cursor?: string): Promise<KeyListBody> {
    const { ApiKey } = this.deps.models;
    let filter = {};
    if (cursor) {
      const after = await ApiKey.findById(cursor).select({ createdAt: 1 }).lean();
      if (!after) throw invalidRequest('cursor does not name a key of yours');
      filter = {
        $or: [
          { createdAt: mongoose.trusted({ $lt: after.createdAt }) },
          { createdAt: after.createdAt, _id: mongoose.trusted({ $lt: after._id }) },
        ],
      };
    }
    const page = await ApiKey.find(filter)
      .sort({ createdAt: -1, _id: -1 })
      .limit(limit + 1)
      .lean();
    const data = page.slice(0, limit).map(present);
    return { data, nextCursor: page.length > limit ? (data.at(-1)?.id ?? null) : null };
  }

  /** A new key for the tenant in scope, in the caller's mode, with at most the caller's scopes. */
  async create(caller: VerifiedKey, input: CreateKeyInput): Promise<CreatedKeyBody> {
    if (input.kind === 'publishable' && input.scopes) {
      throw invalidRequest('scopes: publishable keys have no scopes (they open only the widget socket)', {
        errors: [{ field: 'scopes', message: 'publishable keys have no scopes' }],
      });
    }
    const scopes = input.kind === 'secret' ? (input.scopes ?? caller.scopes) : undefined;
    if (scopes) requireScopes(caller.scopes, scopes, 'to give them to a new key');
    return this.insert(
      {
        kind: input.kind,
        mode: caller.mode,
        label: input.label,
        ...(scopes ? { scopes } : {}),
        expiresAt: this.futureDate(input.expiresAt),
        requestsPerMinute: input.requestsPerMinute ?? null,
      },
      { kind: 'key', id: caller.id },
    );
  }

  /**
   * Issues the key that replaces `id` (same kind, mode, label, scopes and limit); the
   * old key keeps working for `graceSeconds` more, then is refused. A key is rotated at
   * most once: its successor's id is derived from its own, so of two rotations racing
   * (on any number of server processes) exactly one insert succeeds.
   */
  async rotate(caller: VerifiedKey, id: string, input: RotateKeyInput): Promise<CreatedKeyBody> {
    const { ApiKey } = this.deps.models;
    const old = await ApiKey.findById(id).lean();
    if (!old) throw notFound('The key');
    requireScopes(caller.scopes, effectiveScopes(old), 'to rotate a key that holds them (its successor would hold them too)');
    const now = this.now();
    if (old.revokedAt) throw conflict('The key has been revoked; create a new key instead.');
    if (old.rotatedTo) throw conflict(`The key was already rotated (to ${old.rotatedTo}); rotate that key instead.`);
    if (old.expiresAt && old.expiresAt <= now) throw conflict('The key has expired; create a new key instead.');

    const actor: AuditActor = { kind: 'key', id: caller.id };
    const successor = await this.insert(
      {
        _id: successorId(old._id),
        kind: old.kind,
        mode: old.mode,
        label: old.label,
        ...(old.kind === 'secret' ? { scopes: effectiveScopes(old) } : {}),
        requestsPerMinute: old.requestsPerMinute ?? null,
        expiresAt: this.futureDate(input.expiresAt),
        rotatedFrom: old._id,
      },
      actor,
    ).catch((error: unknown) => {
      if ((error as { code?: number }).code === 11000)
        throw conflict('The key was already rotated; rotate its successor instead.');
      throw error;
    });
    const graceEnds = new Date(now.getTime() + input.graceSeconds * 1000);
    const expiresAt = old.expiresAt && old.expiresAt < graceEnds ? old.expiresAt : graceEnds;
    await ApiKey.updateOne({ _id: old._id }, { $set: { rotatedTo: successor.id, expiresAt } });
    await this.deps.audit.record('key.rotated', {
      actor,
      target: { kind: 'key', id: old._id },
      details: { successor: successor.id, graceSeconds: input.graceSeconds, expiresAt: expiresAt.toISOString() },
    });
    return successor;
  }

  /** Refuses the key from now on. Revoking a revoked key changes nothing. */
  async revoke(caller: VerifiedKey, id: string): Promise<KeyBody> {
    const { ApiKey } = this.deps.models;
    const key = await ApiKey.findById(id).lean();
    if (!key) throw notFound('The key');
    if (key.revokedAt) return present(key);
    const revokedAt = this.now();
    await ApiKey.updateOne({ _id: id }, { $set: { revokedAt } });
    await this.deps.audit.record('key.revoked', {
      actor: { kind: 'key', id: caller.id },
      target: { kind: 'key', id },
      details: { kind: key.kind, hint: key.hint },
    });
    return present({ ...key, revokedAt });
  }

  private async verify(raw: string | undefined, kind: KeyKind): Promise<KeyCheck> {
    const [pattern, legacy] =
      kind === 'secret'
        ? [SECRET_KEY_PATTERN, LEGACY_SECRET_KEY_PATTERN]
        : [PUBLISHABLE_KEY_PATTERN, LEGACY_PUBLISHABLE_KEY_PATTERN];
    if (!raw) return { ok: false, reason: 'malformed' };
    if (pattern.test(raw)) {
      if (!isWellFormedKey(raw)) return { ok: false, reason: 'bad checksum' };
    } else if (!legacy.test(raw)) {
      return { ok: false, reason: 'malformed' };
    }
    return this.lookup(raw, kind);
  }

  // The key is the only thing that identifies the tenant, so this lookup necessarily
  // runs before any tenant is known: it is the one system-scope read on the request path.
  private async lookup(raw: string, kind: KeyKind): Promise<KeyCheck> {
    const found = await runAsSystem(`authenticate ${kind} key`, async () => {
      const { ApiKey, Tenant } = this.deps.models;
      const key = await ApiKey.findOne({ hash: sha256(raw), kind }).lean();
      return key ? { key, tenant: await Tenant.findById(key.tenantId).lean() } : undefined;
    });
    if (!found) return { ok: false, reason: 'unknown' };
    const { key, tenant } = found;
    const now = this.now();
    if (key.revokedAt) return { ok: false, reason: 'revoked' };
    if (key.expiresAt && key.expiresAt <= now) return { ok: false, reason: 'expired' };
    if (!tenant || tenant.status !== 'active') return { ok: false, reason: 'tenant inactive' };
    await this.touch(key, now);
    return {
      ok: true,
      tenant,
      key: {
        id: key._id,
        kind: key.kind,
        mode: key.mode,
        scopes: effectiveScopes(key),
        requestsPerMinute: key.requestsPerMinute ?? null,
      },
    };
  }

  /**
   * Records that the key was used, at most once a minute per key: skipped when this
   * process wrote it less than a minute ago or the stored value is that recent (another
   * process wrote it). Two processes may still both write within the same minute, and
   * FerretDB applies `$max` as read-modify-write, so neither write is atomic; both carry
   * "now", so whichever lands last is as right as the other. A failed write is logged,
   * never the request's failure.
   */
  private async touch(key: ApiKey, now: Date): Promise<void> {
    const last = Math.max(key.lastUsedAt?.getTime() ?? 0, this.touched.get(key._id) ?? 0);
    if (now.getTime() - last < LAST_USED_RESOLUTION_MS) return;
    this.touched.set(key._id, now.getTime());
    await runWithTenant(key.tenantId, () =>
      this.deps.models.ApiKey.updateOne({ _id: key._id }, { $max: { lastUsedAt: now } }),
    ).catch((error: unknown) => log.warn({ err: error, keyId: key._id }, 'could not record lastUsedAt'));
  }

  private async insert(
    spec: Pick<ApiKey, 'kind' | 'mode' | 'label'> &
      Partial<Pick<ApiKey, '_id' | 'scopes' | 'expiresAt' | 'requestsPerMinute' | 'rotatedFrom'>>,
    actor: AuditActor,
  ): Promise<CreatedKeyBody> {
    const key = newKey(spec.kind, spec.mode);
    const created = await this.deps.models.ApiKey.create({
      _id: newId('key'),
      ...spec,
      hash: sha256(key),
      hint: hint(key),
      format: 'checksummed',
    });
    const stored = created.toObject();
    await this.deps.audit.record('key.created', {
      actor,
      target: { kind: 'key', id: stored._id },
      details: {
        kind: stored.kind,
        mode: stored.mode,
        hint: stored.hint,
        scopes: effectiveScopes(stored),
        ...(stored.expiresAt ? { expiresAt: stored.expiresAt.toISOString() } : {}),
        ...(stored.rotatedFrom ? { rotatedFrom: stored.rotatedFrom } : {}),
      },
    });
    log.info({ tenantId: requireTenantId(), keyId: stored._id, kind: stored.kind }, 'key created');
    return { ...present(stored), key };
  }

  private futureDate(iso: string | undefined): Date | null {
    if (iso === undefined) return null;
    const date = new Date(iso);
    if (date <= this.now()) {
      throw invalidRequest('expiresAt must be in the future', {
        errors: [{ field: 'expiresAt', message: 'must be in the future' }],
      });
    }
    return date;
  }
}

/** `sk_live_` + 43 uniformly random base62 characters (256 bits) + the 6-character checksum. */
export function newKey(kind: KeyKind, mode: KeyMode): string {
  const prefix = `${KEY_PREFIXES[kind]}_${mode}_`;
  let body = '';
  for (let i = 0; i < KEY_BODY_LENGTH; i += 1) body += BASE62_ALPHABET[randomInt(BASE62_ALPHABET.length)];
  return `${prefix}${body}${keyChecksum(prefix + body)}`;
}

/** Rotation's successor id: a pure function of the old key's id, so only one can exist. */
function successorId(id: string): string {
  return `key_${createHash('sha256').update(`rotation\n${id}`).digest('base64url').slice(0, 20)}`;
}

function hint(key: string): string {
  return `${key.slice(0, 8)}…${key.slice(-4)}`;
}

function present(key: ApiKey): KeyBody {
  return {
    id: key._id,
    kind: key.kind,
    mode: key.mode,
    hint: key.hint,
    label: key.label,
    scopes: effectiveScopes(key),
    requestsPerMinute: key.requestsPerMinute ?? null,
    createdAt: key.createdAt.toISOString(),
    lastUsedAt: key.lastUsedAt?.toISOString() ?? null,
    expiresAt: key.expiresAt?.toISOString() ?? null,
    revokedAt: key.revokedAt?.toISOString() ?? null,
    rotatedTo: key.rotatedTo ?? null,
    legacy: key.format !== 'checksummed',
  };
}
