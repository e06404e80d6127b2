/**
 * The shapes of Atelier's credentials and ids (CONTRACT.md, "Keys and tokens"), and
 * what each secret key may do (its scopes).
 *
 * Tenant API keys are checksummed, as GitHub's tokens are, so that a secret scanner (or
 * the server, before it touches the database) can tell a real key from a typo or a
 * random string offline:
 *
 *     sk_live_ + 43 random base62 characters + 6 base62 characters of checksum
 *     └prefix┘   └────── body: 256 bits ──────┘ └ CRC32 of prefix + body ┘
 *
 * Base62 is `0-9A-Z a-z` in that order; the checksum is the CRC-32 (IEEE, as zlib's) of
 * the ASCII text before it, written in base62 and left-padded with `0` to 6 characters.
 * It covers the prefix too, so a key whose `live` was edited into `test` fails it. The
 * whole key is one "word" of `[A-Za-z0-9_]`, so a double-click selects all of it.
 */
export const BASE62_ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
/** 43 base62 characters carry 256 bits (62^43 > 2^256): at least 32 random bytes' worth. */
export const KEY_BODY_LENGTH = 43;
export const KEY_CHECKSUM_LENGTH = 6;

export type KeyKind = 'secret' | 'publishable';
export type KeyMode = 'live' | 'test';
export const KEY_PREFIXES = { secret: 'sk', publishable: 'pk' } as const satisfies Record<KeyKind, string>;

export const SECRET_KEY_PATTERN = /^sk_(live|test)_[0-9A-Za-z]{49}$/;
export const PUBLISHABLE_KEY_PATTERN = /^pk_(live|test)_[0-9A-Za-z]{49}$/;
/**
 * Keys issued before checksums: 32 random bytes in base64url. They keep working until
 * they are rotated or revoked (the server looks them up like any key), but nothing can
 * recognise one offline, and no new key is issued in this shape.
 */
export const LEGACY_SECRET_KEY_PATTERN = /^sk_(live|test)_[A-Za-z0-9_-]{43}$/;
export const LEGACY_PUBLISHABLE_KEY_PATTERN = /^pk_(live|test)_[A-Za-z0-9_-]{43}$/;

export const RUNNER_TOKEN_PATTERN = /^rt_[A-Za-z0-9_-]{43}$/;
export const WEBHOOK_SECRET_PATTERN = /^whsec_[A-Za-z0-9+/=]{24,}$/;

/** Public ids carry a type prefix (`gen_…`, `img_…`) and 15 random bytes. */
export const ID_PATTERN = /^[a-z]{3}_[A-Za-z0-9_-]{20}$/;

/**
 * Whether `value` is a checksummed secret or publishable key whose checksum holds:
 * what a secret scanner runs, and what the server runs before any database lookup.
 */
export function isWellFormedKey(value: string): boolean {
  if (!SECRET_KEY_PATTERN.test(value) && !PUBLISHABLE_KEY_PATTERN.test(value)) return false;
  const split = value.length - KEY_CHECKSUM_LENGTH;
  return keyChecksum(value.slice(0, split)) === value.slice(split);
}

/** The 6-character base62 CRC-32 of `payload` (the key's prefix and body). */
export function keyChecksum(payload: string): string {
  let n = crc32(payload);
  let out = '';
  for (let i = 0; i < KEY_CHECKSUM_LENGTH; i += 1) {
    out = BASE62_ALPHABET[n % 62]! + out;
    n = Math.floor(n / 62);
  }
  return out;
}

let crcTable: Uint32Array | undefined;

/** CRC-32 (IEEE 802.3, reflected, as zlib and PNG use it) of an ASCII string. */
export function crc32(text: string): number {
  crcTable ??= Uint32Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k += 1) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  let crc = 0xffffffff;
  for (let i = 0; i < text.length; i += 1) crc = crcTable[(crc ^ text.charCodeAt(i)) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

/**
 * What a secret key may do. Each REST route names the scope it needs; a key without it
 * is answered 403 `forbidden` naming the scope. A key can only give a key it creates
 * (or rotates) scopes it has itself. Publishable keys have no scopes: they open only
 * the widget socket, where a shopper can do what a shopper may (generate, and watch
 * or cancel their own jobs).
 */
export const KEY_SCOPES = [
  'generations:write',
  'generations:read',
  'images:read',
  'images:write',
  'config:read',
  'config:write',
  'keys:read',
  'keys:write',
  'sessions:write',
  'balance:read',
  'usage:read',
  'audit:read',
  'webhooks:read',
  'webhooks:write',
] as const;
export type KeyScope = (typeof KEY_SCOPES)[number];

/** A key may allow at most this many requests a minute (`requestsPerMinute`). */
export const KEY_MAX_REQUESTS_PER_MINUTE = 100_000;

/**
 * Shopper sessions: the JWT a tenant's backend mints with `POST /v1/sessions` and the
 * widget presents in `hello.shopper`. It names the shopper (`sub`), the tenant (`tid`)
 * and optional per-shopper quotas; it is not the widget socket's resume token
 * (`welcome.session`), which names a socket session, not a person.
 */
export const SHOPPER_SESSION_ISSUER = 'atelier';
export const SHOPPER_SESSION_AUDIENCE = 'atelier:realtime';
export const SHOPPER_SESSION_DEFAULT_SECONDS = 60 * 60;
export const SHOPPER_SESSION_MIN_SECONDS = 60;
export const SHOPPER_SESSION_MAX_SECONDS = 24 * 60 * 60;
/** A shopper id chosen by the tenant (their customer id, an email hash, …). */
export const SHOPPER_ID_PATTERN = /^[A-Za-z0-9._:@|+-]{1,128}$/;
/** The id an anonymous browser gives itself (kept in localStorage); unverified. */
export const BROWSER_ID_PATTERN = /^[A-Za-z0-9_-]{8,64}$/;
