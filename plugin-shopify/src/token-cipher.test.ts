import { describe, expect, it } from 'vitest';
import { TokenCipher } from './token-cipher.js';

const cipher = new TokenCipher(Buffer.alloc(32, 1));
const TOKEN = 'shpat_0123456789abcdef0123456789abcdef';

describe('TokenCipher', () => {
  it('seals a token so that only the same key and shop open it', () => {
    const sealed = cipher.encrypt(TOKEN, 'a.myshopify.com');
    expect(sealed).toMatch(/^v1\.[\w-]+\.[\w-]+\.[\w-]+$/);
    expect(sealed).not.toContain(TOKEN);
    expect(cipher.encrypt(TOKEN, 'a.myshopify.com')).not.toBe(sealed);
    expect(cipher.decrypt(sealed, 'a.myshopify.com')).toBe(TOKEN);
    expect(() => cipher.decrypt(sealed, 'b.myshopify.com')).toThrow();
    expect(() => new TokenCipher(Buffer.alloc(32, 2)).decrypt(sealed, 'a.myshopify.com')).toThrow();
  });

  it('refuses a sealed token that was altered', () => {
    const [version, iv, tag, body] = cipher.encrypt(TOKEN, 'a.myshopify.com').split('.');
    const flipped = Buffer.from(body!, 'base64url');
    flipped[0]! ^= 1;
    expect(() => cipher.decrypt([version, iv, tag, flipped.toString('base64url')].join('.'), 'a.myshopify.com')).toThrow();
    expect(() => cipher.decrypt('v0.x.y.z', 'a.myshopify.com')).toThrow('not a sealed token');
  });
});
