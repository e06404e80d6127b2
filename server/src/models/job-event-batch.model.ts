import { Schema, type Connection, type Model } from 'mongoose';
import type { JobEvent } from '@atelier/protocol';

/**
 * Job events one server process relays to the others (queue/job-event-relay.ts): a
 * batch per write, in the writer's order. Platform-owned: one batch carries several
 * tenants' events, and every receiver filters by tenant before a socket sees one, as it
 * does for events of its own. Short-lived: batches older than the relay's retention
 * are deleted.
 */
export interface JobEventBatch {
  /** `<serverId>:<seq>`. */
  _id: string;
  serverId: string;
  /** The writer's batch number; orders one writer's batches written within one millisecond. */
  seq: number;
  at: Date;
  /** Whether the writer has new runnable work (a dispatcher elsewhere may want to look). */
  work: boolean;
  events: { tenantId: string; jobId: string; event: JobEvent }[];
}

const jobEventBatchSchema = new Schema<JobEventBatch>(
  {
    _id: { type: String, required: true },
    serverId: { type: String, required: true },
    seq: { type: Number, required: true },
    at: { type: Date, required: true, index: true },
    work: { type: Boolean, default: false },
    events: { type: Schema.Types.Mixed, default: [] },
  },
  { collection: 'job_event_relay', versionKey: false },
);

export function jobEventBatchModel(connection: Connection): Model<JobEventBatch> {
  return connection.model<JobEventBatch>('JobEventBatch', jobEventBatchSchema);
}
