import { Schema, type Connection, type Model } from 'mongoose';

/**
 * A `customers/data_request` the merchant has to answer: which customer, when asked.
 * The export itself is built when the merchant downloads it (the customer's
 * generations as they are then, with fresh image links), so nothing personal is kept
 * here beyond the customer's id; `customers/redact` and `shop/redact` remove it.
 */
export interface DataExportRecord {
  _id: string;
  shop: string;
  customerId: string;
  /** The webhook event it answers. */
  eventId: string;
  /** Shopify's `data_request.id`, when the payload has one. */
  requestId: string | null;
  requestedAt: Date;
  /** How many generations the customer had when the request arrived. */
  generations: number;
  downloadedAt: Date | null;
}

const dataExportSchema = new Schema<DataExportRecord>(
  {
    _id: { type: String, required: true },
    shop: { type: String, required: true },
    customerId: { type: String, required: true },
    eventId: { type: String, required: true },
    requestId: { type: String, default: null },
    requestedAt: { type: Date, required: true },
    generations: { type: Number, required: true },
    downloadedAt: { type: Date, default: null },
  },
  { collection: 'shopify_data_exports' },
);
dataExportSchema.index({ shop: 1, requestedAt: -1 });

export function dataExportModel(connection: Connection): Model<DataExportRecord> {
  return connection.model<DataExportRecord>('ShopifyDataExport', dataExportSchema);
}
