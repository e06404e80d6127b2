import type { ImageBody, PublicImage } from '@atelier/protocol';
import { notFound } from '../errors/app-error.js';
import { createLogger } from '../logging/logger.js';
import type { AuditActor } from '../models/audit-event.model.js';
import type { Generation, StoredImage } from '../models/generation.model.js';
import type { Models } from '../models/index.js';
import type { JobQueue } from '../queue/job-queue.js';
import type { Storage } from '../storage/storage.js';
import type { AuditLog } from './audit-log.js';

const log = createLogger('images');

export interface ImageServiceDeps {
  models: Models;
  /** Where the image's file lives (one file per image: the runner stores no other size or format). */
  storage: Pick<Storage, 'delete'>;
  /** Takes an image off its job, as a fenced transition. */
  queue: Pick<JobQueue, 'removeImage'>;
  audit: Pick<AuditLog, 'record'>;
  /** The generation view's own presenter, so an image's URL is signed exactly as the view signs it. */
  presentImages(tenantId: string, images: StoredImage[], shopperId?: string | null): PublicImage[];
}

/** The audit entry of one image's deletion: one per image, however often a cut-short deletion is retried. */
export function imageDeletionKey(imageId: string): string {
  return `data.deleted:image:${imageId}`;
}

/**
 * A tenant's generated images one at a time (`/v1/images/:id`): read one, delete one.
 * An image lives inside its generation (`images[]`); the tenant plugin scopes every
 * lookup, so another tenant's image is simply not found.
 */
export class ImageService {
  constructor(private readonly deps: ImageServiceDeps) {}

  async get(id: string): Promise<ImageBody> {
    const { generation, image } = await this.find(id);
    const [presented] = this.deps.presentImages(generation.tenantId, [image], generation.shopperId);
    return {
      ...presented!,
      generationId: generation._id,
      index: image.index,
      seed: image.seed,
      bytes: image.bytes,
      sha256: image.sha256 ?? null,
      shopperId: generation.shopperId ?? null,
      createdAt: (generation.finishedAt ?? generation.updatedAt).toISOString(),
    };
  }

  /**
   * Deletes the image for good. The order is what keeps a crash harmless, with no
   * transaction to lean on (FerretDB v1 has none):
   * 1. the file goes first: from then on its signed URLs answer 404 (the file route finds
   *    the entry but no bytes), so nothing is served for an image being deleted, and no
   *    file is ever left that no entry points at (nothing could find it to delete it);
   * 2. the audit entry, keyed by the image, so a retry records none again;
   * 3. the entry leaves the generation through a fenced job transition, which decides
   *    between racing deletions (only its unique insert is atomic on FerretDB);
   * 4. the copies of the entry in the job's history.
   * A crash after 1 or 2 leaves the entry, pointing at no file: DELETE again finds it and
   * finishes (deleting a file that is gone is no error), and the retention sweeper deletes
   * the whole generation in time anyway. A crash inside 3 (its transition recorded, not
   * applied) is rolled forward by the job's next writer (job-transitions.ts): a retry of
   * this DELETE, which finishes and then finds the image gone (404).
   */
  async delete(id: string, actor: AuditActor): Promise<void> {
    const { generation, image } = await this.find(id);
    await this.deps.storage.delete(image.storageKey);
    await this.deps.audit.record('data.deleted', {
      actor,
      target: { kind: 'image', id },
      details: { generationId: generation._id },
      once: imageDeletionKey(id),
    });
    const removed = await this.deps.queue.removeImage(generation._id, id);
    // Off the job either way: false means another request took it off between our read and
    // our transition (that one answers 204), or a transition recorded by a request that
    // died was rolled forward meanwhile.
    await this.forgetInHistory(generation._id, id);
    if (!removed) throw notFound('The image');
    log.info({ tenantId: generation.tenantId, generationId: generation._id, imageId: id }, 'image deleted');
  }

  /**
   * The job's history keeps copies of the entry (its `complete` transition, and the
   * `remove-image` of another of its images): no file, no URL, but the image's key, seed
   * and hash. Every transition holding it is applied by now (ours came after them), and
   * nothing replays an applied one, so the copies can go. Left behind by a crash before
   * this, or by two deletions in one job rewriting the same record at once (FerretDB's
   * read → write-back), they go with the job at retention.
   */
  private async forgetInHistory(jobId: string, imageId: string): Promise<void> {
    const { JobTransition } = this.deps.models;
    for (const transition of await JobTransition.find({ jobId }).lean()) {
      const images = transition.set.images;
      if (!images?.some((image) => image._id === imageId)) continue;
      await JobTransition.updateOne(
        { _id: transition._id },
        { $set: { 'set.images': images.filter((image) => image._id !== imageId) } },
      );
    }
  }

  private async find(id: string): Promise<{ generation: Generation; image: StoredImage }> {
    const generation = await this.deps.models.Generation.findOne({ 'images._id': id })
      .select({ tenantId: 1, images: 1, shopperId: 1, finishedAt: 1, updatedAt: 1 })
      .lean();
    const image = generation?.images.find((candidate) => candidate._id === id);
    if (!generation || !image) throw notFound('The image');
    return { generation, image };
  }
}
