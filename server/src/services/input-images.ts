import { createHash } from 'node:crypto';
import { AppError } from '../errors/app-error.js';
import type { Generation } from '../models/generation.model.js';
import type { Models } from '../models/index.js';
import type { Upload } from '../models/upload.model.js';
import type { AssetSource, JobAsset } from '../storage/job-assets.js';
import type { Storage } from '../storage/storage.js';
import type { ProductImages } from './product-images.js';
import type { UploadService } from './upload-service.js';

/** What a job needs to know of its input image: its size, and what the runner fetches. */
export interface InputImage {
  width: number;
  height: number;
  asset: Omit<JobAsset, 'kind'>;
}

/**
 * Who asks: a widget is bound to its shopper (a verified one, or none), the tenant's own
 * backend (REST) to the tenant as a whole.
 */
export interface InputOwner {
  source: 'api' | 'widget';
  shopperId?: string | undefined;
  /** The widget session asking (a resumed one keeps its id). */
  sessionId?: string | undefined;
  /** An anonymous widget's browser id. */
  browserId?: string | null | undefined;
}

const RESULT_PREFIX = 'img_';

/**
 * The images a job may start from: the tenant's uploads (`upl_…`), and the images of its
 * own finished generations (`img_…`), so a shopper can vary or upscale a result without
 * downloading and uploading it again. A result is the job's input exactly as an upload is:
 * a tenant-bound asset the runner fetches over a signed URL and checks by its sha256.
 */
export class InputImages {
  constructor(
    private readonly deps: {
      models: Models;
      storage: Storage;
      uploads: Pick<UploadService, 'get'>;
      products: Pick<ProductImages, 'fetch'>;
    },
  ) {}

  /** A product photo named by URL, fetched from the tenant's own sites and kept as its upload (product-images.ts). */
  async fromUrl(url: string, sites: { origins: readonly string[]; hosts: readonly string[] }): Promise<InputImage> {
    const upload = await this.deps.products.fetch(url, sites);
    return { width: upload.width, height: upload.height, asset: { id: upload._id, sha256: upload.sha256, bytes: upload.bytes } };
  }

  /**
   * The named image, or `not_found` for one that is not the asker's: another tenant's
   * (the tenant plugin sees only this tenant's), and, from a widget, anything but the
   * shopper's own results (`ownResult`). A widget names no uploads: its product photos
   * come by URL, and a tenant's uploads are its backend's.
   */
  async get(id: string, field: string, owner: InputOwner): Promise<InputImage> {
    if (!id.startsWith(RESULT_PREFIX)) {
      const upload = await this.upload(id, field, owner);
      return {
        width: upload.width,
        height: upload.height,
        asset: { id: upload._id, sha256: upload.sha256, bytes: upload.bytes },
      };
    }
    const generation = await this.deps.models.Generation.findOne({ 'images._id': id, status: 'succeeded' })
      .select({ images: 1, shopperId: 1, sessionId: 1, browserId: 1 })
      .lean();
    const image = generation?.images.find((candidate) => candidate._id === id);
    if (!image || !(owner.source === 'api' || ownResult(generation!, owner))) throw imageNotFound(field);
    return {
      width: image.width,
      height: image.height,
      asset: { id: image._id, sha256: image.sha256 ?? (await this.hashOf(image.storageKey, field)), bytes: image.bytes },
    };
  }

  /** An upload named as a job's input or mask: the tenant's backend's only (a widget gets `not_found`). */
  async upload(id: string, field: string, owner: InputOwner): Promise<Upload> {
    if (owner.source === 'widget') throw imageNotFound(field);
    return this.deps.uploads.get(id, field);
  }

  /** Serves result bytes to runners through `GET /v1/assets`, as uploads are served. */
  assetSource(): AssetSource {
    return {
      idPrefix: RESULT_PREFIX,
      locate: async (assetId) => {
        const generation = await this.deps.models.Generation.findOne({ 'images._id': assetId }).select({ images: 1 }).lean();
        const image = generation?.images.find((candidate) => candidate._id === assetId);
        return image ? { storageKey: image.storageKey, contentType: `image/${image.format}` } : undefined;
      },
    };
  }

  /** Results stored before their hash was recorded are hashed from storage once per request. */
  private async hashOf(storageKey: string, field: string): Promise<string> {
    const file = await this.deps.storage.read(storageKey);
    if (!file) throw imageNotFound(field);
    const hash = createHash('sha256');
    for await (const chunk of file.stream) hash.update(chunk as Buffer);
    return hash.digest('hex');
  }
}

/**
 * Whether a result is the asking widget's shopper's: a verified shopper's results are
 * theirs alone; an anonymous result is the anonymous widget's that made it, by its
 * session (resumed ones included) or its browser's id (a later visit), and never a
 * verified shopper's.
 */
function ownResult(job: Pick<Generation, 'shopperId' | 'sessionId' | 'browserId'>, owner: InputOwner): boolean {
  const shopper = job.shopperId ?? undefined;
  if (shopper !== undefined || owner.shopperId !== undefined) return shopper === owner.shopperId;
  return (
    (job.sessionId !== null && job.sessionId === owner.sessionId) ||
    (owner.browserId != null && job.browserId === owner.browserId)
  );
}

function imageNotFound(field: string): AppError {
  return new AppError('not_found', `The image named in ${field} was not found.`, { details: { field } });
}
