import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Router, type Request, type RequestHandler, type Response } from 'express';
import { OUTPUT_FORMATS, type OutputFormat } from '@atelier/protocol';
import { AppError, notFound } from '../../errors/app-error.js';
import { createLogger } from '../../logging/logger.js';
import type { Models } from '../../models/index.js';
import type { AssetSource } from '../../storage/job-assets.js';
import type { Storage } from '../../storage/storage.js';
import type { SignatureCheck, SignedClaim, UrlSigner } from '../../storage/signed-urls.js';
import { runWithTenant } from '../../tenancy/tenant-context.js';
import { ifRangeHolds, noneMatch, resolveRangeHeader } from './file-routes-headers.js';

const log = createLogger('file-routes');

/** `<image id>.<format>`, for every format a runner may store (the protocol's list). */
const FILE = new RegExp(`^(img_[A-Za-z0-9_-]{20})\\.(${OUTPUT_FORMATS.join('|')})$`);
const ASSET_ID = /^[a-z]{3}_[A-Za-z0-9_-]{20}$/;

/**
 * Nothing answered on these paths before a file is found (403, 404, 416) may be kept
 * by a browser or a CDN: a 404 cached for an image that lands a second later, or an
 * answer to an unsigned path, would be served to the next caller. The file's own
 * answer replaces `Cache-Control`. No answer here is to be sniffed as another type.
 */
const uncached: RequestHandler = (_req, res, next) => {
  res.setHeader('Cache-Control', 'no-store');
  res.setHeader('X-Content-Type-Options', 'nosniff');
  next();
};

/**
 * `GET /v1/files/:tenantId/:imageId.:format?expires[&shopper]&signature` — the signature
 * is the credential: it binds tenant, image, expiry and, on a shopper's images, the
 * shopper (signed-urls.ts says why in the URL). Anyone holding a fresh URL may load the
 * image (an `<img>` on a storefront, a canvas), so it is served with CORS open, in
 * ranges (`Range`, `If-Range`) and revalidated by ETag (`If-None-Match` → 304).
 *
 * Caching: a tenant-bound image is `public` until the URL expires, so a CDN may keep
 * it (the signature is part of the URL it is cached under, so the cache answers only
 * holders of that URL, and never after it expires). A shopper's image is `private`: a
 * shared cache would keep a shopper's picture (often made from their own photo) beyond
 * the tenant's retention and deletion, which only the browser's own cache may do.
 */
export function fileRoutes(deps: { models: Models; storage: Storage; signer: UrlSigner; assets: AssetSource[] }): Router {
  const router = Router();
  router.use(['/v1/files', '/v1/assets'], uncached);

  router.get('/v1/files/:tenantId/:file', async (req, res) => {
    const match = FILE.exec(req.params.file);
    if (!match) throw notFound('The file');
    const [, imageId, format] = match as unknown as [string, string, OutputFormat];
    const check = deps.signer.verify(claimOf(req, 'image', req.params.tenantId, imageId));
    const ref = granted(check);
    const found = await runWithTenant(ref.tenantId, async () => {
      const generation = await deps.models.Generation.findOne({ 'images._id': imageId })
        .select({ images: 1, shopperId: 1 })
        .lean();
      const image = generation?.images.find((candidate) => candidate._id === imageId);
      return image && { image, shopperId: generation?.shopperId ?? undefined };
    });
    // A shopper's image opens only by a URL naming that shopper, and an API image only
    // by one naming none: the server signs each image for its own owner, so any other
    // pairing is a URL it never issued for this image.
    if (!found || found.image.format !== format || found.shopperId !== ref.shopperId) throw notFound('The file');
    const maxAge = Math.max(0, ref.expires - Math.floor(Date.now() / 1000));
    res.setHeader('Access-Control-Allow-Origin', '*');
    res.setHeader('Access-Control-Expose-Headers', 'Accept-Ranges, Content-Range, ETag');
    res.setHeader('Cross-Origin-Resource-Policy', 'cross-origin');
    await sendStored(req, res, deps.storage, {
      key: found.image.storageKey,
      size: found.image.bytes,
      // The IANA type of each output format is `image/<format>` (png, webp, jpeg, avif).
      contentType: `image/${format}`,
      // An image id names one set of bytes for good: a new attempt stores new ids.
      etag: `"${imageId}"`,
      cacheControl: `${ref.shopperId === undefined ? 'public' : 'private'}, max-age=${maxAge}, immutable`,
    });
  });

  /**
   * `GET /v1/assets/:tenantId/:assetId?expires&signature` — a job's input file (an upload,
   * a LoRA), fetched by the runner the job was offered to. Signed for this purpose only,
   * so an image link does not open it; not CORS-open, since no browser needs it.
   */
  router.get('/v1/assets/:tenantId/:assetId', async (req, res) => {
    const { tenantId, assetId } = req.params;
    const source = deps.assets.find((candidate) => assetId.startsWith(candidate.idPrefix));
    if (!source || !ASSET_ID.test(assetId)) throw notFound('The file');
    const ref = granted(deps.signer.verify(claimOf(req, 'asset', tenantId, assetId)));
    const located = await runWithTenant(ref.tenantId, () => source.locate(assetId));
    const file = located && (await deps.storage.read(located.storageKey));
    if (!located || !file) throw notFound('The file');
    res.setHeader('Content-Type', located.contentType);
    res.setHeader('Content-Length', String(file.size));
    res.setHeader('Cache-Control', 'private, no-store');
    await send(req, res, file.stream);
  });
  return router;
}

/** The signed URL's parts as the request gives them; a parameter given twice is no claim at all. */
function claimOf(req: Request, purpose: SignedClaim['purpose'], tenantId: string, fileId: string): SignedClaim {
  const one = (name: string): string | undefined => {
    const value = req.query[name];
    if (value === undefined || typeof value === 'string') return value;
    throw notFound('The file');
  };
  return { purpose, tenantId, fileId, shopperId: one('shopper'), expires: one('expires'), signature: one('signature') };
}

/**
 * An expired link is one this server issued for this very file, so saying so tells its
 * holder nothing new. Any other failure (a tenant, shopper or file swapped into the URL,
 * a tampered signature) is answered as a file that does not exist: another tenant's
 * object is not_found, never forbidden (CONTRACT.md).
 */
function granted(check: SignatureCheck) {
  if (check.ok) return check.ref;
  if (check.reason === 'expired') throw new AppError('forbidden', 'This link has expired.');
  throw notFound('The file');
}

interface StoredFile {
  key: string;
  /** As recorded when it was stored; `Range` is resolved against it before storage is asked. */
  size: number;
  contentType: string;
  etag: string;
  cacheControl: string;
}

/** One stored file as a cacheable, range-capable answer: 200, 206, 304 or 416. */
async function sendStored(req: Request, res: Response, storage: Storage, file: StoredFile): Promise<void> {
  res.setHeader('Accept-Ranges', 'bytes');
  res.setHeader('ETag', file.etag);
  res.setHeader('Cache-Control', file.cacheControl);
  // The client's copy is this one: storage is not asked at all.
  if (noneMatch(req.get('If-None-Match'), file.etag)) {
    res.status(304).end();
    return;
  }
  const answer = ifRangeHolds(req.get('If-Range'), file.etag)
    ? resolveRangeHeader(req.get('Range'), file.size)
    : { kind: 'whole' as const };
  if (answer.kind === 'unsatisfiable') {
    res.setHeader('Cache-Control', 'no-store');
    res.setHeader('Content-Range', `bytes */${file.size}`);
    throw new AppError('range_not_satisfiable', `The file is ${file.size} bytes long; that range is outside it.`);
  }
  const stored = await storage.read(file.key, answer.kind === 'partial' ? answer.range : undefined);
  if (!stored) {
    res.setHeader('Cache-Control', 'no-store');
    throw notFound('The file');
  }
  res.setHeader('Content-Type', file.contentType);
  res.setHeader('Content-Length', String(stored.range.end - stored.range.start + 1));
  if (answer.kind === 'partial') {
    res.setHeader('Content-Range', `bytes ${stored.range.start}-${stored.range.end}/${stored.size}`);
    res.status(206);
  }
  await send(req, res, stored.stream);
}

/** Streams a body (none for HEAD); a client that goes away mid-file is no error of ours. */
async function send(req: Request, res: Response, body: Readable): Promise<void> {
  if (req.method === 'HEAD') {
    body.destroy();
    res.end();
    return;
  }
  try {
    await pipeline(body, res);
  } catch (error) {
    log.info({ path: req.path, err: error }, 'file stream ended early');
  }
}
