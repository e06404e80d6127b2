import { Schema, type Connection, type Model } from 'mongoose';
import { PERFORMANCES, PLAN_NAMES, type Performance, type PlanName } from '@atelier/protocol';

/**
 * What a plan includes. Platform-owned (no tenantId): an operator edits these through
 * the admin API or the CLI; tenants name a plan by its `_id`.
 */
export interface Plan {
  /** The plan's name: one of `PLAN_NAMES`. */
  _id: PlanName;
  monthlyCredits: number;
  presets: Performance[];
  requestsPerMinute: number;
  concurrentJobs: number;
  maxImagesPerRequest: number;
  maxPixels: number;
  forcedWatermark: boolean;
  queuePriority: number;
  updatedAt: Date;
}

const planSchema = new Schema<Plan>(
  {
    _id: { type: String, enum: PLAN_NAMES, required: true },
    monthlyCredits: { type: Number, required: true, min: 0 },
    presets: { type: [{ type: String, enum: PERFORMANCES }], required: true },
    requestsPerMinute: { type: Number, required: true, min: 1 },
    concurrentJobs: { type: Number, required: true, min: 1 },
    maxImagesPerRequest: { type: Number, required: true, min: 1 },
    maxPixels: { type: Number, required: true, min: 1 },
    forcedWatermark: { type: Boolean, required: true },
    queuePriority: { type: Number, required: true, min: 1 },
  },
  { timestamps: { createdAt: false, updatedAt: true }, collection: 'plans', versionKey: false },
);

export function planModel(connection: Connection): Model<Plan> {
  return connection.model<Plan>('Plan', planSchema);
}
