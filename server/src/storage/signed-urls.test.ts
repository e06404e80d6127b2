import { describe, expect, it } from 'vitest';
import { UrlSigner, type SignedClaim } from './signed-urls.js';

const SECRET = 'test-signing-secret-0123456789abcdef';
const NOW = Date.UTC(2030, 0, 1);
const TTL_SECONDS = 15 * 60;
const signer = new UrlSigner(SECRET, () => 'https://cdn.example', TTL_SECONDS);
const IMAGE = 'img_aaaaaaaaaaaaaaaaaaaa';

/** The claim a request for `url` hands to `verify`, as the file routes read it. */
function claimOf(url: string): SignedClaim {
  const parsed = new URL(url);
  const [, , kind, tenantId, file] = parsed.pathname.split('/');
  const param = (name: string) => parsed.searchParams.get(name) ?? undefined;
  return {
    purpose: kind === 'files' ? 'image' : 'asset',
    tenantId: decodeURIComponent(tenantId!),
    fileId: decodeURIComponent(file!).split('.')[0]!,
    shopperId: param('shopper'),
    expires: param('expires'),
    signature: param('signature'),
  };
}

const verify = (claim: SignedClaim, now = NOW) => signer.verify(claim, now);

describe('UrlSigner', () => {
  const url = signer.imageUrl('ten_a', IMAGE, 'png', NOW);
  const claim = claimOf(url);

  it('signs a URL on the public host that verifies until it expires', () => {
    expect(url.startsWith(`https://cdn.example/v1/files/ten_a/${IMAGE}.png?expires=`)).toBe(true);
    expect(verify(claim)).toEqual({
      ok: true,
      ref: { tenantId: 'ten_a', fileId: IMAGE, shopperId: undefined, expires: NOW / 1000 + TTL_SECONDS },
    });
    expect(verify(claim, NOW + TTL_SECONDS * 1000).ok).toBe(true);
  });

  it('refuses it once expired', () => {
    expect(verify(claim, NOW + TTL_SECONDS * 1000 + 1_000)).toEqual({ ok: false, reason: 'expired' });
  });

  it('says expired only of a URL it signed: an expired one re-pointed at another tenant is a bad signature', () => {
    const later = NOW + TTL_SECONDS * 1000 + 1_000;
    expect(verify({ ...claim, tenantId: 'ten_b' }, later)).toEqual({ ok: false, reason: 'bad signature' });
  });

  it('refuses a later expiry written into the URL', () => {
    expect(verify({ ...claim, expires: String(Number(claim.expires) + 3600) })).toEqual({ ok: false, reason: 'bad signature' });
  });

  it('refuses a tampered signature', () => {
    const signature = claim.signature!;
    const flipped = `${signature.slice(0, -1)}${signature.endsWith('A') ? 'B' : 'A'}`;
    expect(verify({ ...claim, signature: flipped })).toEqual({ ok: false, reason: 'bad signature' });
    expect(verify({ ...claim, signature: `${signature}A` })).toEqual({ ok: false, reason: 'bad signature' });
    expect(verify({ ...claim, signature: '' })).toMatchObject({ ok: false });
  });

  it('refuses the signature with another tenant or another image put in the path', () => {
    expect(verify({ ...claim, tenantId: 'ten_b' })).toEqual({ ok: false, reason: 'bad signature' });
    expect(verify({ ...claim, fileId: 'img_bbbbbbbbbbbbbbbbbbbb' })).toEqual({ ok: false, reason: 'bad signature' });
  });

  it('keeps fields apart: moving text from one field into the next breaks the signature', () => {
    const joined = claimOf(signer.imageUrl('ten_a', 'img_b', 'png', NOW));
    expect(verify({ ...joined, tenantId: 'ten_a\nimg_b', fileId: '' })).toEqual({ ok: false, reason: 'bad signature' });
    expect(verify({ ...joined, tenantId: 'ten_', fileId: 'aimg_b' })).toEqual({ ok: false, reason: 'bad signature' });
  });

  it('refuses a URL without expiry or signature', () => {
    expect(verify({ ...claim, expires: undefined })).toEqual({ ok: false, reason: 'missing signature' });
    expect(verify({ ...claim, signature: undefined })).toEqual({ ok: false, reason: 'missing signature' });
    expect(verify({ ...claim, expires: 'soon' })).toEqual({ ok: false, reason: 'malformed' });
  });

  it('accepts only the canonical decimal spelling of expires, the one the signer writes', () => {
    const canonical = claim.expires!;
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
      expect(verify({ ...claim, expires }), JSON.stringify(expires)).toEqual({ ok: false, reason: 'malformed' });
    }
    expect(verify({ ...claim, expires: '9'.repeat(20) })).toEqual({ ok: false, reason: 'malformed' });
    expect(verify({ ...claim, expires: canonical }).ok).toBe(true);
  });

  it('refuses a URL signed with another secret', () => {
    const other = new UrlSigner(`${SECRET}-other`, () => 'https://cdn.example', TTL_SECONDS);
    expect(verify(claimOf(other.imageUrl('ten_a', IMAGE, 'png', NOW)))).toEqual({ ok: false, reason: 'bad signature' });
  });

  it('keeps image and asset URLs apart: neither opens the other', () => {
    const asset = claimOf(signer.assetUrl('ten_a', 'upl_aaaaaaaaaaaaaaaaaaaa', NOW));
    expect(verify(asset).ok).toBe(true);
    expect(verify({ ...asset, purpose: 'image' })).toEqual({ ok: false, reason: 'bad signature' });
    expect(verify({ ...claim, purpose: 'asset' })).toEqual({ ok: false, reason: 'bad signature' });
  });
});

describe('UrlSigner: shopper-bound image URLs', () => {
  const url = signer.shopperImageUrl('ten_a', 'customer:42', IMAGE, 'webp', NOW);
  const claim = claimOf(url);

  it('names the shopper in the URL and binds it into the signature', () => {
    expect(new URL(url).searchParams.get('shopper')).toBe('customer:42');
    expect(verify(claim)).toEqual({
      ok: true,
      ref: { tenantId: 'ten_a', fileId: IMAGE, shopperId: 'customer:42', expires: NOW / 1000 + TTL_SECONDS },
    });
  });

  it('refuses it with another shopper named, with the shopper dropped, and a tenant-bound URL with one added', () => {
    expect(verify({ ...claim, shopperId: 'customer:43' })).toEqual({ ok: false, reason: 'bad signature' });
    expect(verify({ ...claim, shopperId: undefined })).toEqual({ ok: false, reason: 'bad signature' });
    const unbound = claimOf(signer.imageUrl('ten_a', IMAGE, 'webp', NOW));
    expect(verify({ ...unbound, shopperId: 'customer:42' })).toEqual({ ok: false, reason: 'bad signature' });
  });

  it('refuses a shopper id no shopper session could carry, before looking at the signature', () => {
    expect(verify({ ...claim, shopperId: '' })).toEqual({ ok: false, reason: 'malformed' });
    expect(verify({ ...claim, shopperId: 'a b' })).toEqual({ ok: false, reason: 'malformed' });
    expect(verify({ ...claim, shopperId: 'x'.repeat(129) })).toEqual({ ok: false, reason: 'malformed' });
  });
});
