import { Schema, type Connection, type Model } from 'mongoose';
import { tenantPlugin } from '../tenancy/tenant-plugin.js';

export const UPLOAD_FORMATS = ['png', 'jpeg', 'webp'] as const;
export type UploadFormat = (typeof UPLOAD_FORMATS)[number];

/**
 * An image a tenant uploaded as the input (or mask) of vary, upscale and background
 * jobs. The bytes live in storage under the tenant's prefix, exactly as uploaded;
 * `sha256` lets a runner check (and cache) what it fetched.
 */
export interface Upload {
  _id: string;
  tenantId: string;
  storageKey: string;
  format: UploadFormat;
  width: number;
  height: number;
  hasAlpha: boolean;
  bytes: number;
  /** Hex SHA-256 of the stored bytes. */
  sha256: string;
  /** A product photo the server fetched for a request naming it by URL (`inputImageUrl`). */
  sourceUrl?: string;
  createdAt: Date;
}

const uploadSchema = new Schema<Upload>(
  {
    _id: { type: String, required: true },
    storageKey: { type: String, required: true },
    format: { type: String, enum: UPLOAD_FORMATS, required: true },
    width: { type: Number, required: true },
    height: { type: Number, required: true },
    hasAlpha: { type: Boolean, required: true },
    bytes: { type: Number, required: true },
    sha256: { type: String, required: true },
    sourceUrl: { type: String },
    createdAt: { type: Date, required: true },
  },
  { collection: 'uploads', versionKey: false },
);
uploadSchema.plugin(tenantPlugin);
// Product photos fetched by URL are looked up by it (product-images.ts).
uploadSchema.index({ tenantId: 1, sourceUrl: 1 });

export function uploadModel(connection: Connection): Model<Upload> {
  return connection.model<Upload>('Upload', uploadSchema);
}
