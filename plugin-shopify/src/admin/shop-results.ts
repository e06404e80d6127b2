import type { ShopifyModels } from '../models/index.js';
import type { ResultStatus, ShopResultRecord } from '../models/shop-result.model.js';
import type { ShopperResult, ShopperResultsPort } from '../ports.js';

/** A shopper picture as the admin lists it: the platform's image with what the shop decided. */
export interface AdminResult extends ShopperResult {
  status: ResultStatus;
  consent: boolean;
  media: { productId: string; mediaId: string }[];
}

/** How many recent generations the admin lists. */
export const RECENT_RESULTS = 30;

/**
 * The shop's side of its shoppers' pictures: moderation (hide / approve) and consent,
 * kept beside the pictures (which stay the tenant's, in the platform). Every image id is
 * looked up in the shop's own tenant before anything is recorded about it.
 */
export class ShopResults {
  constructor(private readonly deps: { models: ShopifyModels; results: ShopperResultsPort }) {}

  /** Newest first; hidden pictures are left out. */
  async list(shop: { _id: string; tenantId: string }): Promise<AdminResult[]> {
    const recent = await this.deps.results.recent(shop.tenantId, RECENT_RESULTS);
    const records = await this.deps.models.Result.find({ shop: shop._id }).lean();
    const byId = new Map(records.map((record) => [record._id, record]));
    return recent.map((result) => present(result, byId.get(result.imageId))).filter((result) => result.status !== 'hidden');
  }

  /** The picture with the shop's decisions, if it is one of the shop's. */
  async get(shop: { _id: string; tenantId: string }, imageId: string): Promise<AdminResult | undefined> {
    const result = await this.deps.results.find(shop.tenantId, imageId);
    if (!result) return undefined;
    return present(result, (await this.deps.models.Result.findOne({ _id: imageId, shop: shop._id }).lean()) ?? undefined);
  }

  /** Hides or approves one of the shop's pictures; undefined when it is not one. */
  async moderate(
    shop: { _id: string; tenantId: string },
    imageId: string,
    status: ResultStatus,
  ): Promise<AdminResult | undefined> {
    const result = await this.deps.results.find(shop.tenantId, imageId);
    if (!result) return undefined;
    await this.record(shop, result, { status });
    return this.get(shop, imageId);
  }

  /**
   * The shopper picked their picture on the storefront: their consent to its reuse. Only
   * a picture the session's own shopper made; undefined for anything else.
   */
  async consent(shop: { _id: string; tenantId: string }, sessionToken: string, imageId: string): Promise<boolean> {
    const result = await this.deps.results.ownedBy(shop.tenantId, sessionToken, imageId);
    if (!result) return false;
    const existing = await this.deps.models.Result.findOne({ _id: imageId, shop: shop._id }).select({ consentAt: 1 }).lean();
    if (!existing?.consentAt) await this.record(shop, result, { consentAt: new Date() });
    return true;
  }

  async addMedia(shop: { _id: string }, imageId: string, media: { productId: string; mediaId: string }): Promise<void> {
    await this.deps.models.Result.updateOne({ _id: imageId, shop: shop._id }, { $push: { media: { ...media, at: new Date() } } });
  }

  private async record(
    shop: { _id: string; tenantId: string },
    result: ShopperResult,
    changes: Partial<Pick<ShopResultRecord, 'status' | 'consentAt'>>,
  ): Promise<void> {
    await this.deps.models.Result.updateOne(
      { _id: result.imageId, shop: shop._id },
      { $set: changes, $setOnInsert: { tenantId: shop.tenantId, generationId: result.generationId } },
      { upsert: true },
    );
  }
}

function present(result: ShopperResult, record: ShopResultRecord | undefined): AdminResult {
  return {
    ...result,
    status: record?.status ?? 'new',
    consent: Boolean(record?.consentAt),
    media: (record?.media ?? []).map(({ productId, mediaId }) => ({ productId, mediaId })),
  };
}
