import { createHmac } from 'node:crypto';
import { safeEqual } from '../services/ids.js';

export interface SignedFileRef {
  tenantId: string;
  imageId: string;
  /** Unix seconds. */
  expires: number;
}

/** Unix seconds as `String(n)` writes them: decimal digits, no sign, no leading zero. */
const CANONICAL_SECONDS = /^(?:0|[1-9][0-9]*)$/;

/** What a signed URL opens: a generated image (`/v1/files`) or a job's input file (`/v1/assets`). */
export type SignedPurpose = 'image' | 'asset';

export type SignatureCheck = { ok: true; ref: SignedFileRef } | { ok: false; reason: string };

/**
 * Short-lived capability URLs for images: the signature binds tenant, image and
 * expiry, so a URL cannot be re-pointed at another tenant's image or used later.
 */
export class UrlSigner {
  constructor(
    private readonly secret: string,
    /** Read at signing time: the server's public URL is known only once it listens. */
    private readonly publicUrl: () => string,
    private readonly ttlSeconds = 15 * 60,
  ) {}

  imageUrl(tenantId: string, imageId: string, format: string, now = Date.now()): string {
    const expires = Math.floor(now / 1000) + this.ttlSeconds;
    const signature = this.sign({ tenantId, imageId, expires });
    const url = new URL(`/v1/files/${encodeURIComponent(tenantId)}/${encodeURIComponent(imageId)}.${format}`, this.publicUrl());
    url.searchParams.set('expires', String(expires));
    url.searchParams.set('signature', signature);
    return url.toString();
  }

  /**
   * A URL for one of a job's input files (an upload, a LoRA), fetched by a runner. Signed
   * apart from image URLs (a `purpose` in the MAC), so neither kind of URL opens the other.
   */
  assetUrl(tenantId: string, assetId: string, now = Date.now()): string {
    const expires = Math.floor(now / 1000) + this.ttlSeconds;
    const signature = this.sign({ tenantId, imageId: assetId, expires }, 'asset');
    const url = new URL(`/v1/assets/${encodeURIComponent(tenantId)}/${encodeURIComponent(assetId)}`, this.publicUrl());
    url.searchParams.set('expires', String(expires));
    url.searchParams.set('signature', signature);
    return url.toString();
  }

  verify(
    tenantId: string,
    imageId: string,
    expires: string | undefined,
    signature: string | undefined,
    now = Date.now(),
    purpose: SignedPurpose = 'image',
  ): SignatureCheck {
    // Only the spelling the signer writes: `Number()` would also take `1.0`, `+1`, `0x1`,
    // `1e0` and padded forms, each one more URL for the same capability.
    if (expires === undefined || !signature) return { ok: false, reason: 'missing signature' };
    const expiresAt = Number(expires);
    if (!CANONICAL_SECONDS.test(expires) || !Number.isSafeInteger(expiresAt)) return { ok: false, reason: 'malformed expiry' };
    if (expiresAt * 1000 < now) return { ok: false, reason: 'expired' };
    const ref = { tenantId, imageId, expires: expiresAt };
    return safeEqual(this.sign(ref, purpose), signature) ? { ok: true, ref } : { ok: false, reason: 'bad signature' };
  }

  private sign(ref: SignedFileRef, purpose: SignedPurpose = 'image'): string {
    // Image URLs keep the MAC input they always had, so links already handed out stay valid.
    const prefix = purpose === 'image' ? '' : `${purpose}\n`;
    return createHmac('sha256', this.secret)
      .update(`${prefix}${ref.tenantId}\n${ref.imageId}\n${ref.expires}`)
      .digest('base64url');
  }
}
