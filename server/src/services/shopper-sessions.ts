import { randomBytes } from 'node:crypto';
import mongoose from 'mongoose';
import { SignJWT, errors, jwtVerify, type JWTPayload } from 'jose';
import {
  SHOPPER_ID_PATTERN,
  SHOPPER_SESSION_AUDIENCE,
  SHOPPER_SESSION_DEFAULT_SECONDS,
  SHOPPER_SESSION_ISSUER,
  type ShopperSessionBody,
} from '@atelier/protocol';
import type { CreateShopperSessionInput } from '@atelier/protocol/schemas';
import { createLogger } from '../logging/logger.js';
import type { AuditActor } from '../models/audit-event.model.js';
import type { Models } from '../models/index.js';
import { runAsSystem } from '../tenancy/tenant-context.js';
import { newId } from './ids.js';
import { PlatformAuditLog } from './platform-audit-log.js';

const log = createLogger('shopper-sessions');

/** Signing keys are platform secrets named `shopper-session-key:<000001>`, numbered upwards. */
const KEY_PREFIX = 'shopper-session-key:';
const ALGORITHM = 'HS256';
/** How long a process signs with the key it loaded before looking for a newer one. */
const REFRESH_MS = 60_000;
/** An unknown `kid` makes a process look again, but not more often than this. */
const UNKNOWN_KID_RELOAD_MS = 1_000;

export interface ShopperQuota {
  generationsPerDay?: number;
}

/** Who a verified shopper session says the shopper is. */
export interface ShopperClaims {
  tenantId: string;
  shopperId: string;
  quota: ShopperQuota;
  expiresAt: Date;
}

export type ShopperCheck =
  | { ok: true; claims: ShopperClaims }
  | { ok: false; reason: 'malformed' | 'unknown key' | 'bad signature' | 'expired' | 'wrong audience' | 'other tenant' };

interface SigningKey {
  kid: string;
  secret: Uint8Array;
}

/**
 * Shopper sessions: short-lived JWTs (HS256, `jose`) a tenant's backend mints for a
 * shopper and the widget presents, so that limits and quotas can follow a person rather
 * than a browser. Claims: `iss`, `aud` (the realtime socket), `sub` (the shopper id),
 * `tid` (the tenant), `exp`, `iat`, and optional `quota`.
 *
 * The signing keys live in the database, so every server process signs and verifies
 * alike. The header's `kid` names the key: verification accepts the current key and the
 * one before it, so rotating (`rotateSigningKey`) leaves tokens already handed out
 * working until they expire, as long as keys are not rotated twice within a token's
 * lifetime (24 h at most).
 */
export class ShopperSessions {
  private cache: { keys: SigningKey[]; loadedAt: number } | undefined;
  private lastUnknownReload = 0;
  private readonly now: () => Date;
  private readonly platformAudit: PlatformAuditLog;

  constructor(private readonly deps: { models: Models; platformAudit?: PlatformAuditLog; now?: () => Date }) {
    this.now = deps.now ?? (() => new Date());
    this.platformAudit = deps.platformAudit ?? new PlatformAuditLog({ models: deps.models, now: this.now });
  }

  async mint(tenantId: string, input: CreateShopperSessionInput): Promise<ShopperSessionBody> {
    const [current] = await this.keys();
    const shopperId = input.shopperId ?? newId('shp');
    const issuedAt = Math.floor(this.now().getTime() / 1000);
    const expires = issuedAt + (input.expiresInSeconds ?? SHOPPER_SESSION_DEFAULT_SECONDS);
    const quota = input.quota && Object.keys(input.quota).length > 0 ? { quota: input.quota } : {};
    const token = await new SignJWT({ tid: tenantId, ...quota })
      .setProtectedHeader({ alg: ALGORITHM, kid: current!.kid, typ: 'JWT' })
      .setIssuer(SHOPPER_SESSION_ISSUER)
      .setAudience(SHOPPER_SESSION_AUDIENCE)
      .setSubject(shopperId)
      .setIssuedAt(issuedAt)
      .setExpirationTime(expires)
      .sign(current!.secret);
    return { token, expiresAt: new Date(expires * 1000).toISOString(), shopperId };
  }

  /** Checks signature, `kid`, `iss`, `aud`, `exp` and that the token is `tenantId`'s. */
  async verify(token: string, tenantId: string): Promise<ShopperCheck> {
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, async ({ kid }) => this.secretFor(kid), {
        algorithms: [ALGORITHM],
        issuer: SHOPPER_SESSION_ISSUER,
        audience: SHOPPER_SESSION_AUDIENCE,
        requiredClaims: ['sub', 'exp', 'iat'],
        currentDate: this.now(),
      }));
    } catch (error) {
      return { ok: false, reason: failure(error) };
    }
    const { sub, tid, exp, quota } = payload as JWTPayload & { tid?: unknown; quota?: unknown };
    if (typeof sub !== 'string' || !SHOPPER_ID_PATTERN.test(sub) || typeof tid !== 'string' || typeof exp !== 'number') {
      return { ok: false, reason: 'malformed' };
    }
    if (tid !== tenantId) return { ok: false, reason: 'other tenant' };
    return { ok: true, claims: { tenantId: tid, shopperId: sub, quota: readQuota(quota), expiresAt: new Date(exp * 1000) } };
  }

  /** Makes a new current signing key; the old one is still accepted (as the previous). */
  async rotateSigningKey(actor: AuditActor = { kind: 'system' }): Promise<{ kid: string }> {
    const [current] = await this.keys({ fresh: true });
    await this.createKey(Number(current!.kid) + 1);
    const [next] = await this.keys({ fresh: true });
    log.info({ kid: next!.kid }, 'shopper-session signing key rotated');
    await this.platformAudit.record('session_key.rotated', {
      actor,
      target: { kind: 'session_key', id: next!.kid },
      details: { kid: next!.kid, previousKid: current!.kid },
    });
    return { kid: next!.kid };
  }

  /** The current key first, then the previous one (if any). */
  private async keys({ fresh = false } = {}): Promise<SigningKey[]> {
    const now = Date.now();
    if (!fresh && this.cache && now - this.cache.loadedAt < REFRESH_MS) return this.cache.keys;
    let keys = await this.load();
    if (keys.length === 0) {
      await this.createKey(1);
      keys = await this.load();
    }
    this.cache = { keys, loadedAt: now };
    return keys;
  }

  private async secretFor(kid: string | undefined): Promise<Uint8Array> {
    if (kid === undefined) throw new errors.JWSInvalid('no kid in the header');
    let key = (await this.keys()).find((k) => k.kid === kid);
    // Another process may have rotated since this one loaded; look again, but not on
    // every forged kid.
    if (!key && Date.now() - this.lastUnknownReload > UNKNOWN_KID_RELOAD_MS) {
      this.lastUnknownReload = Date.now();
      key = (await this.keys({ fresh: true })).find((k) => k.kid === kid);
    }
    if (!key) throw new UnknownKid();
    return key.secret;
  }

  private load(): Promise<SigningKey[]> {
    return runAsSystem('read shopper-session signing keys', async () => {
      const stored = await this.deps.models.PlatformSecret.find({
        _id: mongoose.trusted({ $gte: KEY_PREFIX, $lt: `${KEY_PREFIX}~` }),
      })
        .sort({ _id: -1 })
        .limit(2)
        .lean();
      return stored.map((s) => ({ kid: s._id.slice(KEY_PREFIX.length), secret: Buffer.from(s.value, 'base64url') }));
    });
  }

  /** Key number `n`; the unique `_id` makes one insert win when processes race. */
  private async createKey(n: number): Promise<void> {
    await runAsSystem('create a shopper-session signing key', () =>
      this.deps.models.PlatformSecret.create({
        _id: `${KEY_PREFIX}${String(n).padStart(6, '0')}`,
        value: randomBytes(32).toString('base64url'),
      }),
    ).catch((error: unknown) => {
      if ((error as { code?: number }).code !== 11000) throw error;
    });
  }
}

class UnknownKid extends Error {}

function failure(error: unknown): Exclude<ShopperCheck, { ok: true }>['reason'] {
  if (error instanceof UnknownKid) return 'unknown key';
  if (error instanceof errors.JWTExpired) return 'expired';
  if (error instanceof errors.JWTClaimValidationFailed)
    return error.claim === 'aud' || error.claim === 'iss' ? 'wrong audience' : 'malformed';
  if (error instanceof errors.JWSSignatureVerificationFailed) return 'bad signature';
  return 'malformed';
}

function readQuota(value: unknown): ShopperQuota {
  const perDay = (value as { generationsPerDay?: unknown } | undefined)?.generationsPerDay;
  return typeof perDay === 'number' && Number.isInteger(perDay) && perDay >= 0 ? { generationsPerDay: perDay } : {};
}
