import { describe, expect, it } from 'vitest';
import {
  BASE62_ALPHABET,
  KEY_SCOPES,
  LEGACY_SECRET_KEY_PATTERN,
  PUBLISHABLE_KEY_PATTERN,
  SECRET_KEY_PATTERN,
  crc32,
  isWellFormedKey,
  keyChecksum,
} from './credentials.js';

/** A key built as the format says, from a body chosen here (the server draws it at random). */
function keyWith(prefix: string, body: string): string {
  return `${prefix}${body}${keyChecksum(prefix + body)}`;
}

const BODY = 'a1B2c3D4e5F6g7H8i9J0kLmNoPqRsTuVwXyZ0123456'; // 43 base62 characters

describe('key checksums', () => {
  it('computes the standard CRC-32 (the IEEE check value of "123456789" is cbf43926)', () => {
    expect(crc32('123456789')).toBe(0xcbf43926);
    expect(crc32('')).toBe(0);
  });

  it('writes the checksum as 6 base62 characters, left-padded with 0', () => {
    expect(keyChecksum('')).toBe('000000');
    const value = crc32('sk_live_x');
    const decoded = [...keyChecksum('sk_live_x')].reduce((n, c) => n * 62 + BASE62_ALPHABET.indexOf(c), 0);
    expect(decoded).toBe(value);
  });

  it('accepts a key whose checksum holds, for both kinds and modes', () => {
    expect(BODY).toHaveLength(43);
    for (const prefix of ['sk_live_', 'sk_test_', 'pk_live_', 'pk_test_']) {
      const key = keyWith(prefix, BODY);
      expect(key).toHaveLength(prefix.length + 49);
      expect(isWellFormedKey(key)).toBe(true);
    }
    expect(SECRET_KEY_PATTERN.test(keyWith('sk_live_', BODY))).toBe(true);
    expect(PUBLISHABLE_KEY_PATTERN.test(keyWith('pk_test_', BODY))).toBe(true);
  });

  it('refuses any single changed character, a key whose mode was edited, and strings of the wrong shape', () => {
    const key = keyWith('sk_live_', BODY);
    for (let i = 'sk_live_'.length; i < key.length; i += 1) {
      const changed = key.slice(0, i) + (key[i] === 'A' ? 'B' : 'A') + key.slice(i + 1);
      expect(isWellFormedKey(changed), `character ${i} changed`).toBe(false);
    }
    expect(isWellFormedKey(key.replace('sk_live_', 'sk_test_'))).toBe(false);
    expect(isWellFormedKey(key.slice(0, -1))).toBe(false);
    expect(isWellFormedKey(`${key}0`)).toBe(false);
    expect(isWellFormedKey(`rt_${BODY}`)).toBe(false);
    expect(isWellFormedKey('')).toBe(false);
  });

  it('tells a legacy key (base64url, no checksum) from a checksummed one by its shape', () => {
    const legacy = `sk_test_${'A'.repeat(42)}-`;
    expect(LEGACY_SECRET_KEY_PATTERN.test(legacy)).toBe(true);
    expect(SECRET_KEY_PATTERN.test(legacy)).toBe(false);
    expect(isWellFormedKey(legacy)).toBe(false);
  });

  it('names each scope once', () => {
    expect(new Set(KEY_SCOPES).size).toBe(KEY_SCOPES.length);
    expect(KEY_SCOPES).toContain('sessions:write');
  });
});
