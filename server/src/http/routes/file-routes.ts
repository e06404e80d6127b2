import { Router } from 'express';
import { AppError, notFound } from '../../errors/app-error.js';
import type { Models } from '../../models/index.js';
import type { AssetSource } from '../../storage/job-assets.js';
import type { Storage } from '../../storage/storage.js';
import type { UrlSigner } from '../../storage/signed-urls.js';
import { runWithTenant } from '../../tenancy/tenant-context.js';

const FILE = /^(img_[A-Za-z0-9_-]{20})\.(png|webp)$/;
const ASSET_ID = /^[a-z]{3}_[A-Za-z0-9_-]{20}$/;

/**
 * `GET /v1/files/:tenantId/:imageId.:format?expires&signature` — the signature is the
 * credential: it binds tenant, image and expiry. Anyone holding a fresh URL may load
 * the image (an `<img>` on a storefront, a canvas), so it is served with CORS open.
 */
export function fileRoutes(deps: { models: Models; storage: Storage; signer: UrlSigner; assets: AssetSource[] }): Router {
  const router = Router();
  router.get('/v1/files/:tenantId/:file', async (req, res) => {
    const match = FILE.exec(req.params.file);
    if (!match) throw notFound('The file');
    const [, imageId, format] = match;
    const check = deps.signer.verify(
      req.params.tenantId,
      imageId!,
      typeof req.query.expires === 'string' ? req.query.expires : undefined,
      typeof req.query.signature === 'string' ? req.query.signature : undefined,
    );
    // An expired link is one this server issued for this very file, so saying so tells its
    // holder nothing new. Any other failure (a tenant or image swapped into the path, a
    // tampered signature) is answered as a file that does not exist: another tenant's
    // object is not_found, never forbidden (CONTRACT.md).
    if (!check.ok) {
      if (check.reason === 'expired') throw new AppError('forbidden', 'This link has expired.');
      throw notFound('The file');
    }
    const image = await runWithTenant(check.ref.tenantId, async () => {
      const generation = await deps.models.Generation.findOne({ 'images._id': imageId }).select({ images: 1 }).lean();
      return generation?.images.find((candidate) => candidate._id === imageId);
    });
    if (!image || image.format !== format) throw notFound('The file');
    const file = await deps.storage.read(image.storageKey);
    if (!file) throw notFound('The file');
    res.setHeader('Content-Type', `image/${image.format}`);
    res.setHeader('Content-Length', String(file.size));
    res.setHeader(
      'Cache-Control',
      `private, max-age=${Math.max(0, check.ref.expires - Math.floor(Date.now() / 1000))}, immutable`,
    );
    res.setHeader('Access-Control-Allow-Origin', '*');
    res.setHeader('Cross-Origin-Resource-Policy', 'cross-origin');
    file.stream.pipe(res);
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
    const check = deps.signer.verify(
      tenantId,
      assetId,
      typeof req.query.expires === 'string' ? req.query.expires : undefined,
      typeof req.query.signature === 'string' ? req.query.signature : undefined,
      Date.now(),
      'asset',
    );
    if (!check.ok) {
      // As for image links: only a link issued for exactly this tenant and file is told it expired.
      if (check.reason === 'expired') throw new AppError('forbidden', 'This link has expired.');
      throw notFound('The file');
    }
    const located = await runWithTenant(check.ref.tenantId, () => source.locate(assetId));
    const file = located && (await deps.storage.read(located.storageKey));
    if (!located || !file) throw notFound('The file');
    res.setHeader('Content-Type', located.contentType);
    res.setHeader('Content-Length', String(file.size));
    res.setHeader('Cache-Control', 'private, no-store');
    file.stream.pipe(res);
  });
  return router;
}
