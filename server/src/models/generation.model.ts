import { Schema, type Connection, type Model, type HydratedDocument } from 'mongoose';
import {
  OUTPUT_FORMATS,
  type Code,
  type GenerationParams,
  type JobProgress,
  type JobStatus,
  type OutputFormat,
  type ResolvedJobParams,
} from '@atelier/protocol';
import type { JobAsset } from '../storage/job-assets.js';
import { tenantPlugin } from '../tenancy/tenant-plugin.js';

export interface StoredImage {
  _id: string;
  index: number;
  storageKey: string;
  width: number;
  height: number;
  format: OutputFormat;
  bytes: number;
  seed: number;
  /** Hex SHA-256 of the stored bytes, so a result can be a later job's input asset (absent on older results). */
  sha256?: string;
  /** Background images: the product fidelity figure the runner measured (0 = untouched product). */
  productFidelity?: number;
}

export interface JobError {
  code: Code;
  message: string;
  retryable: boolean;
}

/**
 * A generation is also its own queue entry: the durable queue is this collection.
 * Every change after creation is a fenced transition (queue/job-transitions.ts): it
 * claims `rev + 1` in `job_transitions` first, so writes to one job are serialised
 * across server processes. `epoch` grows by one each time the job is leased; the
 * live lease (expiry, progress) is a document of its own (`leases`).
 */
export interface Generation {
  _id: string;
  tenantId: string;
  status: JobStatus;
  params: GenerationParams;
  resolved: ResolvedJobParams;
  /** Files the job reads (its input image and mask, LoRAs), offered to the runner with fresh URLs. */
  assets: JobAsset[];
  cost: { credits: number };
  /**
   * As of the last transition (queued, or leased and loading). A running job's live
   * progress is on its lease; views read it from there.
   */
  progress: JobProgress;
  images: StoredImage[];
  error: JobError | null;
  source: 'api' | 'widget';
  /** The widget session that asked for it, so a resumed session finds its jobs again. */
  sessionId: string | null;
  /** The shopper a verified shopper session named, for per-shopper quotas. */
  shopperId?: string | null;
  /** An anonymous widget's self-chosen browser id (unverified), for per-browser limits. */
  browserId?: string | null;
  /** The widget's `generate` ref, carried on every event about the job. */
  ref: string | null;
  queuedAt: Date;
  /** Not to be leased before this time (retry backoff). */
  notBefore: Date;
  /** Not started by then, the job expires without charge; null: no deadline. */
  deadline?: Date | null;
  /** Inside a tenant, higher first, then oldest first. */
  priority?: number;
  attempts: number;
  maxAttempts: number;
  epoch: number;
  /** Who holds the current lease; its expiry and progress are on the lease document. */
  lease: { runnerId: string } | null;
  /** How many transitions the job has been through; the fence of the next one. */
  rev: number;
  startedAt: Date | null;
  finishedAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

export type GenerationDocument = HydratedDocument<Generation>;

const imageSchema = new Schema<StoredImage>(
  {
    _id: { type: String, required: true },
    index: { type: Number, required: true },
    storageKey: { type: String, required: true },
    width: { type: Number, required: true },
    height: { type: Number, required: true },
    format: { type: String, enum: OUTPUT_FORMATS, required: true },
    bytes: { type: Number, required: true },
    seed: { type: Number, required: true },
    sha256: { type: String },
    productFidelity: { type: Number },
  },
  { _id: false },
);

const generationSchema = new Schema<Generation>(
  {
    _id: { type: String, required: true },
    status: {
      type: String,
      enum: ['queued', 'running', 'succeeded', 'failed', 'canceled', 'expired'],
      required: true,
    },
    params: { type: Schema.Types.Mixed, required: true },
    resolved: { type: Schema.Types.Mixed, required: true },
    assets: {
      type: [
        new Schema<JobAsset>(
          {
            kind: { type: String, required: true },
            id: { type: String, required: true },
            sha256: { type: String, required: true },
            bytes: { type: Number, required: true },
          },
          { _id: false },
        ),
      ],
      default: [],
    },
    cost: { credits: { type: Number, required: true } },
    progress: {
      step: { type: Number, default: 0 },
      steps: { type: Number, default: 0 },
      stage: { type: String, default: 'queued' },
    },
    images: { type: [imageSchema], default: [] },
    error: {
      type: new Schema<JobError>({ code: String, message: String, retryable: Boolean }, { _id: false }),
      default: null,
    },
    source: { type: String, enum: ['api', 'widget'], required: true },
    sessionId: { type: String, default: null },
    shopperId: { type: String, default: null },
    browserId: { type: String, default: null },
    ref: { type: String, default: null },
    queuedAt: { type: Date, required: true },
    notBefore: { type: Date, required: true },
    deadline: { type: Date, default: null },
    priority: { type: Number, default: 0 },
    attempts: { type: Number, default: 0 },
    maxAttempts: { type: Number, default: 3 },
    epoch: { type: Number, default: 0 },
    lease: {
      type: new Schema({ runnerId: String }, { _id: false }),
      default: null,
    },
    rev: { type: Number, default: 0 },
    startedAt: { type: Date, default: null },
    finishedAt: { type: Date, default: null },
  },
  { timestamps: true, collection: 'generations', minimize: false },
);
generationSchema.plugin(tenantPlugin);
generationSchema.index({ tenantId: 1, createdAt: -1, _id: -1 });
generationSchema.index({ tenantId: 1, status: 1, queuedAt: 1 });
generationSchema.index({ status: 1, notBefore: 1 });
generationSchema.index({ tenantId: 1, sessionId: 1 });
generationSchema.index({ 'images._id': 1 });
// The webhook repair pass: generations of some tenants that finished in a time window.
generationSchema.index({ tenantId: 1, finishedAt: 1 });

export function generationModel(connection: Connection): Model<Generation> {
  return connection.model<Generation>('Generation', generationSchema);
}
