import { createHash } from 'node:crypto';
import sharp, { type Metadata } from 'sharp';
import { RUNNER_MAX_IMAGE_PIXELS, type UploadBody } from '@atelier/protocol';
import { AppError, invalidRequest } from '../errors/app-error.js';
import { createLogger } from '../logging/logger.js';
import type { Models } from '../models/index.js';
import type { Upload, UploadFormat } from '../models/upload.model.js';
import type { AssetSource } from '../storage/job-assets.js';
import { tenantKey, type Storage } from '../storage/storage.js';
import { requireTenantId } from '../tenancy/tenant-context.js';
import { newId } from './ids.js';

const log = createLogger('uploads');

/** What `POST /v1/uploads` accepts. */
export const UPLOAD_LIMITS = {
  /** Bytes of one upload. */
  maxBytes: 20 * 1024 * 1024,
  minSide: 64,
  /** The most pixels a runner can be asked to work on. */
  maxPixels: RUNNER_MAX_IMAGE_PIXELS,
  maxSide: 4096,
} as const;

const CONTENT_TYPES: Record<string, UploadFormat> = { 'image/png': 'png', 'image/jpeg': 'jpeg', 'image/webp': 'webp' };

/** Tenants' input images: validated by decoding them, stored under the tenant's prefix. */
export class UploadService {
  constructor(private readonly deps: { models: Models; storage: Storage; now?: () => Date }) {}

  /** The format a `Content-Type` names, or a 415 naming the accepted ones. */
  static formatOf(contentType: string | undefined): UploadFormat {
    const type = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
    const format = CONTENT_TYPES[type];
    if (!format) {
      throw new AppError(
        'unsupported_media_type',
        `Content-Type must be one of ${Object.keys(CONTENT_TYPES).join(', ')}${type ? `, not ${type}` : ''}.`,
      );
    }
    return format;
  }

  /** `sourceUrl`: where the server fetched the image (a product photo named by URL, product-images.ts). */
  async create(format: UploadFormat, bytes: Buffer, { sourceUrl }: { sourceUrl?: string } = {}): Promise<Upload> {
    const tenantId = requireTenantId();
    if (bytes.length === 0) throw invalidRequest('The request body is empty; send the image bytes.');
    const options = { failOn: 'error', limitInputPixels: UPLOAD_LIMITS.maxSide ** 2 } as const;
    let meta: Metadata;
    try {
      meta = await sharp(bytes, options).metadata();
    } catch (error) {
      log.debug({ err: error }, 'upload has no readable image header');
      throw invalidRequest(`The body is not a readable ${format.toUpperCase()} image.`);
    }
    if (meta.format !== format) {
      throw invalidRequest(`The body is a ${String(meta.format).toUpperCase()} image but Content-Type says image/${format}.`);
    }
    const { width, height } = meta;
    const { minSide, maxSide, maxPixels } = UPLOAD_LIMITS;
    if (width < minSide || height < minSide || width > maxSide || height > maxSide || width * height > maxPixels) {
      throw invalidRequest(
        `The image is ${width}x${height}; each side must be ${minSide}–${maxSide} pixels and the whole at most ${maxPixels} pixels.`,
        { width, height },
      );
    }
    try {
      // Decoding every pixel, not only the header, is what proves the file is not truncated.
      await sharp(bytes, options).raw().toBuffer();
    } catch (error) {
      log.debug({ err: error }, 'upload did not decode');
      throw invalidRequest(`The ${format.toUpperCase()} image is corrupt or truncated.`);
    }
    const id = newId('upl');
    const storageKey = tenantKey(tenantId, 'uploads', `${id}.${format}`);
    await this.deps.storage.put(storageKey, bytes, `image/${format}`);
    const upload = await this.deps.models.Upload.create({
      _id: id,
      storageKey,
      format,
      width,
      height,
      hasAlpha: meta.hasAlpha,
      bytes: bytes.length,
      sha256: createHash('sha256').update(bytes).digest('hex'),
      ...(sourceUrl && { sourceUrl }),
      createdAt: this.deps.now?.() ?? new Date(),
    });
    log.info({ tenantId, uploadId: id, format, width, height, bytes: bytes.length }, 'image uploaded');
    return upload.toObject();
  }

  /** The tenant's own upload; another tenant's id is not found, like a made-up one. */
  async get(id: string, field = 'inputImageId'): Promise<Upload> {
    const upload = await this.deps.models.Upload.findById(id).lean();
    // The id is not repeated: not_found says nothing of whose it might be.
    if (!upload) throw new AppError('not_found', `The upload named in ${field} was not found.`, { details: { field } });
    return upload;
  }

  /** Serves upload bytes to runners through `GET /v1/assets`. */
  assetSource(): AssetSource {
    return {
      idPrefix: 'upl_',
      locate: async (assetId) => {
        const upload = await this.deps.models.Upload.findById(assetId).lean();
        return upload ? { storageKey: upload.storageKey, contentType: `image/${upload.format}` } : undefined;
      },
    };
  }
}

export function uploadBody(upload: Upload): UploadBody {
  return { id: upload._id, width: upload.width, height: upload.height, format: upload.format, hasAlpha: upload.hasAlpha };
}
