import { describe, expect, it } from 'vitest';
import { UrlSigner } from './signed-urls.js';

const SECRET = 'test-signing-secret-0123456789abcdef';
const NOW = Date.UTC(2030, 0, 1);
const TTL_SECONDS = 15 * 60;
const signer = new UrlSigner(SECRET, () => 'https://cdn.example', TTL_SECONDS);

/** The parts a request for `url` hands to `verify`. */
function partsOf(url: string) {
  const parsed = new URL(url);
  const [, , , tenantId, file] = parsed.pathname.split('/');
  const [imageId, format] = decodeURIComponent(file!).split('.');
  return {
    tenantId: decodeURIComponent(tenantId!),
    imageId: imageId!,
    format: format!,
    expires: parsed.searchParams.get('expires') ?? undefined,
    signature: parsed.searchParams.get('signature') ?? undefined,
  };
}

const verify = (parts: ReturnType<typeof partsOf>, now = NOW) =>
  signer.verify(parts.tenantId, parts.imageId, parts.expires, parts.signature, now);

describe('UrlSigner', () => {
  const url = signer.imageUrl('ten_a', 'img_aaaaaaaaaaaaaaaaaaaa', 'png', NOW);
  const parts = partsOf(url);

  it('signs a URL on the public host that verifies until it expires', () => {
    expect(url.startsWith('https://cdn.example/v1/files/ten_a/img_aaaaaaaaaaaaaaaaaaaa.png?')).toBe(true);
    expect(verify(parts)).toEqual({
      ok: true,
      ref: { tenantId: 'ten_a', imageId: 'img_aaaaaaaaaaaaaaaaaaaa', expires: NOW / 1000 + TTL_SECONDS },
    });
    expect(verify(parts, NOW + TTL_SECONDS * 1000).ok).toBe(true);
  });

  it('refuses it once expired', () => {
    expect(verify(parts, NOW + TTL_SECONDS * 1000 + 1_000)).toEqual({ ok: false, reason: 'expired' });
  });

  it('says expired only of a URL it signed: an expired one re-pointed at another tenant is a bad signature', () => {
    const later = NOW + TTL_SECONDS * 1000 + 1_000;
    expect(verify({ ...parts, tenantId: 'ten_b' }, later)).toEqual({ ok: false, reason: 'bad signature' });
  });

  it('refuses a later expiry written into the URL', () => {
    expect(verify({ ...parts, expires: String(Number(parts.expires) + 3600) })).toEqual({ ok: false, reason: 'bad signature' });
  });

  it('refuses a tampered signature', () => {
    const signature = parts.signature!;
    const flipped = `${signature.slice(0, -1)}${signature.endsWith('A') ? 'B' : 'A'}`;
    expect(verify({ ...parts, signature: flipped })).toEqual({ ok: false, reason: 'bad signature' });
    expect(verify({ ...parts, signature: `${signature}A` })).toEqual({ ok: false, reason: 'bad signature' });
    expect(verify({ ...parts, signature: '' })).toMatchObject({ ok: false });
  });

  it('refuses the signature with another tenant or another image put in the path', () => {
    expect(verify({ ...parts, tenantId: 'ten_b' })).toEqual({ ok: false, reason: 'bad signature' });
    expect(verify({ ...parts, imageId: 'img_bbbbbbbbbbbbbbbbbbbb' })).toEqual({ ok: false, reason: 'bad signature' });
  });

  it('refuses a URL without expiry or signature', () => {
    expect(verify({ ...parts, expires: undefined })).toEqual({ ok: false, reason: 'missing signature' });
    expect(verify({ ...parts, signature: undefined })).toEqual({ ok: false, reason: 'missing signature' });
    expect(verify({ ...parts, expires: 'soon' })).toEqual({ ok: false, reason: 'malformed expiry' });
  });

  it('accepts only the canonical decimal spelling of expires, the one the signer writes', () => {
    const canonical = parts.expires!;
    expect(canonical).toMatch(/^[1-9][0-9]*$/);
    const spellings = [
      `${canonical}.0`,
      `+${canonical}`,
      `0x${Number(canonical).toString(16)}`,
      `${Number(canonical) / 10}e1`,
      ` ${canonical}`,
      `${canonical} `,
      `\t${canonical}`,
      `0${canonical}`,
      `00${canonical}`,
      `${canonical}n`,
      `-${canonical}`,
      '',
    ];
    for (const expires of spellings) {
      // Each names the same instant to Number(), so only the spelling can refuse it.
      expect(verify({ ...parts, expires }), JSON.stringify(expires)).toEqual({ ok: false, reason: 'malformed expiry' });
    }
    expect(verify({ ...parts, expires: '9'.repeat(20) })).toEqual({ ok: false, reason: 'malformed expiry' });
    expect(verify({ ...parts, expires: canonical }).ok).toBe(true);
  });

  it('refuses a URL signed with another secret', () => {
    const other = new UrlSigner(`${SECRET}-other`, () => 'https://cdn.example', TTL_SECONDS);
    expect(verify(partsOf(other.imageUrl('ten_a', 'img_aaaaaaaaaaaaaaaaaaaa', 'png', NOW)))).toEqual({
      ok: false,
      reason: 'bad signature',
    });
  });
});
