import { Schema, type Connection, type Model } from 'mongoose';
import type { JobProgress } from '@atelier/protocol';
import { tenantPlugin } from '../tenancy/tenant-plugin.js';

/**
 * One lease of a job: `_id` is `<jobId>:<epoch>`, so there is at most one per epoch.
 * Created by the claim's winner; afterwards written only by the runner session that
 * holds it (heartbeats extend `expiresAt`, progress is persisted here about once a
 * second), so its read-modify-writes never race another writer that matters. Liveness
 * and progress live here rather than on the job so that they never contend with the
 * job's fenced transitions.
 */
export interface LeaseRecord {
  _id: string;
  tenantId: string;
  jobId: string;
  epoch: number;
  runnerId: string;
  serverId: string;
  expiresAt: Date;
  /** Set once the job has left this epoch; the sweeper skips ended leases. */
  endedAt: Date | null;
  progress: JobProgress;
  createdAt: Date;
}

const leaseSchema = new Schema<LeaseRecord>(
  {
    _id: { type: String, required: true },
    jobId: { type: String, required: true },
    epoch: { type: Number, required: true },
    runnerId: { type: String, required: true },
    serverId: { type: String, required: true },
    expiresAt: { type: Date, required: true },
    endedAt: { type: Date, default: null },
    progress: {
      step: { type: Number, default: 0 },
      steps: { type: Number, default: 0 },
      stage: { type: String, default: 'loading' },
    },
  },
  { timestamps: { createdAt: true, updatedAt: false }, collection: 'leases', versionKey: false },
);
leaseSchema.plugin(tenantPlugin);
leaseSchema.index({ endedAt: 1, expiresAt: 1 });

export function leaseModel(connection: Connection): Model<LeaseRecord> {
  return connection.model<LeaseRecord>('Lease', leaseSchema);
}

export function leaseId(jobId: string, epoch: number): string {
  return `${jobId}:${epoch}`;
}
