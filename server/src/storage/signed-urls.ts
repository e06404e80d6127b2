import { createHmac } from 'node:crypto';
import { SHOPPER_ID_PATTERN } from '@atelier/protocol';
import { safeEqual } from '../services/ids.js';

/** What a signed URL opens: a generated image (`/v1/files`) or a job's input file (`/v1/assets`). */
export type SignedPurpose = 'image' | 'asset';

/** The parts of a signed URL a request hands back, as it wrote them. */
export interface SignedClaim {
  purpose: SignedPurpose;
  tenantId: string;
  fileId: string;
  /** The `shopper` query parameter, present on a shopper's images only. */
  shopperId: string | undefined;
  expires: string | undefined;
  signature: string | undefined;
}

export interface SignedFileRef {
  tenantId: string;
  fileId: string;
  /** The shopper the URL was minted for; undefined on a tenant-bound URL. */
  shopperId: string | undefined;
  /** Unix seconds. */
  expires: number;
}

export type SignatureCheck =
  { ok: true; ref: SignedFileRef } | { ok: false; reason: 'missing signature' | 'malformed' | 'bad signature' | 'expired' };

/** Unix seconds as `String(n)` writes them: decimal digits, no sign, no leading zero. */
const CANONICAL_SECONDS = /^(?:0|[1-9][0-9]*)$/;

/**
 * Short-lived capability URLs. The HMAC covers purpose, tenant, file, expiry and, for a
 * shopper's images, the shopper: no part can be changed, dropped or added without
 * breaking it, so a URL cannot be re-pointed at another tenant's file, another
 * shopper, another kind of file, or a later time.
 *
 * The shopper binding lives in the URL (`&shopper=<id>`) because the URL is all an
 * `<img>` on a storefront sends: no header, and no cookie now that browsers block
 * third-party ones. A URL minted for shopper A therefore names A, is handed only to A
 * (A's widget socket, or the tenant's backend, which holds every shopper's results) and
 * opens only A's images; naming B in it breaks the signature, and a URL signed for B
 * does not open A's image (the file route compares the image's shopper).
 */
export class UrlSigner {
  constructor(
    private readonly secret: string,
    /** Read at signing time: the server's public URL is known only once it listens. */
    private readonly publicUrl: () => string,
    private readonly ttlSeconds = 15 * 60,
  ) {}

  /** The same signer, with URLs that stay valid for `ttlSeconds` (a data export handed to a merchant). */
  withTtl(ttlSeconds: number): UrlSigner {
    return new UrlSigner(this.secret, this.publicUrl, ttlSeconds);
  }

  /** A tenant-bound image URL (an image made through the API, or by an anonymous shopper). */
  imageUrl(tenantId: string, imageId: string, format: string, now = Date.now()): string {
    return this.url('image', imagePath(tenantId, imageId, format), { tenantId, fileId: imageId, shopperId: undefined }, now);
  }

  /** An image URL bound to the verified shopper whose generation made it, as well as to the tenant. */
  shopperImageUrl(tenantId: string, shopperId: string, imageId: string, format: string, now = Date.now()): string {
    return this.url('image', imagePath(tenantId, imageId, format), { tenantId, fileId: imageId, shopperId }, now);
  }

  /** A URL for one of a job's input files (an upload, a LoRA), fetched by a runner. */
  assetUrl(tenantId: string, assetId: string, now = Date.now()): string {
    const path = `/v1/assets/${encodeURIComponent(tenantId)}/${encodeURIComponent(assetId)}`;
    return this.url('asset', path, { tenantId, fileId: assetId, shopperId: undefined }, now);
  }

  verify(claim: SignedClaim, now = Date.now()): SignatureCheck {
    const { expires, signature, shopperId } = claim;
    if (expires === undefined || !signature) return { ok: false, reason: 'missing signature' };
    // Only the spelling the signer writes: `Number()` would also take `1.0`, `+1`, `0x1`,
    // `1e0` and padded forms, each one more URL for the same capability.
    const expiresAt = Number(expires);
    if (!CANONICAL_SECONDS.test(expires) || !Number.isSafeInteger(expiresAt)) return { ok: false, reason: 'malformed' };
    if (shopperId !== undefined && !SHOPPER_ID_PATTERN.test(shopperId)) return { ok: false, reason: 'malformed' };
    const ref: SignedFileRef = { tenantId: claim.tenantId, fileId: claim.fileId, shopperId, expires: expiresAt };
    // The signature first: only a URL this server issued for exactly this file may be
    // told that it has expired; any other is simply not a file here.
    if (!safeEqual(this.sign(claim.purpose, ref), signature)) return { ok: false, reason: 'bad signature' };
    return expiresAt * 1000 < now ? { ok: false, reason: 'expired' } : { ok: true, ref };
  }

  private url(purpose: SignedPurpose, path: string, binding: Omit<SignedFileRef, 'expires'>, now: number): string {
    const expires = Math.floor(now / 1000) + this.ttlSeconds;
    const url = new URL(path, this.publicUrl());
    url.searchParams.set('expires', String(expires));
    if (binding.shopperId !== undefined) url.searchParams.set('shopper', binding.shopperId);
    url.searchParams.set('signature', this.sign(purpose, { ...binding, expires }));
    return url.toString();
  }

  private sign(purpose: SignedPurpose, ref: SignedFileRef): string {
    // A JSON array, so that no field's text can run into the next one's (a tenant id
    // taken from a path could hold any character).
    const material = JSON.stringify([purpose, ref.tenantId, ref.fileId, ref.expires, ref.shopperId ?? null]);
    return createHmac('sha256', this.secret).update(material).digest('base64url');
  }
}

function imagePath(tenantId: string, imageId: string, format: string): string {
  return `/v1/files/${encodeURIComponent(tenantId)}/${encodeURIComponent(imageId)}.${format}`;
}
