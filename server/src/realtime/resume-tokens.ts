import { createHmac } from 'node:crypto';
import { newId, safeEqual } from '../services/ids.js';

export interface ResumeClaims {
  tenantId: string;
  /** The widget socket session (`ses_…`) whose jobs a resumed socket continues. */
  sessionId: string;
  /** The shopper the socket was bound to (from a shopper session), if any. */
  shopperId?: string;
  /** Unix seconds. */
  expires: number;
}

export type ResumeCheck = { ok: true; claims: ResumeClaims } | { ok: false; reason: string };

/**
 * Resume tokens of the widget socket (`welcome.session`, sent back in `hello.resume`):
 * `<claims, base64url JSON>.<HMAC-SHA256>`, stateless. They name a socket session so a
 * reconnecting browser can continue it; they say nothing about who the shopper is (that
 * is a shopper session, services/shopper-sessions.ts). The tenant inside is trusted only
 * because the signature is ours.
 */
export class ResumeTokens {
  constructor(
    private readonly secret: string,
    private readonly ttlSeconds = 24 * 60 * 60,
  ) {}

  mint(
    tenantId: string,
    { sessionId = newId('ses'), shopperId }: { sessionId?: string | undefined; shopperId?: string | undefined } = {},
    now = Date.now(),
  ): { token: string; claims: ResumeClaims } {
    const claims: ResumeClaims = {
      tenantId,
      sessionId,
      ...(shopperId === undefined ? {} : { shopperId }),
      expires: Math.floor(now / 1000) + this.ttlSeconds,
    };
    const payload = Buffer.from(JSON.stringify(claims)).toString('base64url');
    return { token: `${payload}.${this.sign(payload)}`, claims };
  }

  /**
   * `graceSeconds` past expiry still counts: a token no longer resumes a socket after its
   * day, but it stays proof that a browser held the session (see WidgetSession's `watch`).
   */
  verify(token: string | undefined, now = Date.now(), graceSeconds = 0): ResumeCheck {
    if (!token || token.length > 1000) return { ok: false, reason: 'missing' };
    const [payload, signature, extra] = token.split('.');
    if (!payload || !signature || extra !== undefined) return { ok: false, reason: 'malformed' };
    if (!safeEqual(this.sign(payload), signature)) return { ok: false, reason: 'bad signature' };
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as ResumeClaims;
    if ((claims.expires + graceSeconds) * 1000 < now) return { ok: false, reason: 'expired' };
    return { ok: true, claims };
  }

  // The domain prefix keeps these signatures apart from anything else signed with the
  // same platform secret (image URLs).
  private sign(payload: string): string {
    return createHmac('sha256', this.secret).update(`session\n${payload}`).digest('base64url');
  }
}
