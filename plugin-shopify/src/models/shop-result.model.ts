import { Schema, type Connection, type Model } from 'mongoose';

export const RESULT_STATUSES = ['new', 'approved', 'hidden'] as const;
export type ResultStatus = (typeof RESULT_STATUSES)[number];

/**
 * What the merchant and the shopper decided about one shopper picture (keyed by the
 * image's id; the picture itself stays the platform's, in the shop's tenant).
 *
 * Consent: a shopper consents to the merchant reusing a picture by picking it on the
 * storefront (`atelier-select`, which also puts it on their cart line); the storefront
 * reports the pick through the app proxy with the shopper's own session, so only the
 * shopper who made the picture can consent to it. Only an approved picture with
 * consent becomes product media.
 */
export interface ShopResultRecord {
  _id: string;
  shop: string;
  tenantId: string;
  generationId: string;
  status: ResultStatus;
  /** When the shopper picked it (their consent); null: not picked. */
  consentAt: Date | null;
  /** Product media made from it (`productCreateMedia`). */
  media: { productId: string; mediaId: string; at: Date }[];
  createdAt: Date;
  updatedAt: Date;
}

const resultSchema = new Schema<ShopResultRecord>(
  {
    _id: { type: String, required: true },
    shop: { type: String, required: true },
    tenantId: { type: String, required: true },
    generationId: { type: String, required: true },
    status: { type: String, enum: RESULT_STATUSES, default: 'new' },
    consentAt: { type: Date, default: null },
    media: {
      type: [new Schema({ productId: String, mediaId: String, at: Date }, { _id: false })],
      default: [],
    },
  },
  { timestamps: true, collection: 'shopify_results' },
);
resultSchema.index({ shop: 1 });

export function shopResultModel(connection: Connection): Model<ShopResultRecord> {
  return connection.model<ShopResultRecord>('ShopifyResult', resultSchema);
}
