import { createHmac } from 'node:crypto';
import { newId, safeEqual } from '../services/ids.js';

export interface SessionClaims {
  tenantId: string;
  sessionId: string;
  /** Unix seconds. */
  expires: number;
}

export type SessionCheck = { ok: true; claims: SessionClaims } | { ok: false; reason: string };

/**
 * Signed, stateless shopper-session tokens: `<claims, base64url JSON>.<HMAC-SHA256>`.
 * The tenant inside is trusted only because the signature is ours.
 */
export class SessionTokens {
  constructor(
    private readonly secret: string,
    private readonly ttlSeconds = 24 * 60 * 60,
  ) {}

  mint(tenantId: string, sessionId = newId('ses'), now = Date.now()): { token: string; claims: SessionClaims } {
    const claims = { tenantId, sessionId, expires: Math.floor(now / 1000) + this.ttlSeconds };
    const payload = Buffer.from(JSON.stringify(claims)).toString('base64url');
    return { token: `${payload}.${this.sign(payload)}`, claims };
  }

  verify(token: string | undefined, now = Date.now()): SessionCheck {
    if (!token || token.length > 1000) return { ok: false, reason: 'missing' };
    const [payload, signature, extra] = token.split('.');
    if (!payload || !signature || extra !== undefined) return { ok: false, reason: 'malformed' };
    if (!safeEqual(this.sign(payload), signature)) return { ok: false, reason: 'bad signature' };
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as SessionClaims;
    if (claims.expires * 1000 < now) return { ok: false, reason: 'expired' };
    return { ok: true, claims };
  }

  private sign(payload: string): string {
    return createHmac('sha256', this.secret).update(`session\n${payload}`).digest('base64url');
  }
}
