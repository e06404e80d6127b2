import { Schema, type Connection, type Model } from 'mongoose';
import type { JobStatus } from '@atelier/protocol';
import { tenantPlugin } from '../tenancy/tenant-plugin.js';
import type { Generation } from './generation.model.js';

/** `remove-image` takes one image off a finished job (`DELETE /v1/images/:id`); the rest move its status. */
export type TransitionKind = 'claim' | 'complete' | 'fail' | 'cancel' | 'expire' | 'deadline' | 'remove-image';

/** The fields one transition sets on the job: top-level fields only, absolute values. */
export type JobSet = Partial<
  Pick<
    Generation,
    'status' | 'progress' | 'images' | 'error' | 'notBefore' | 'attempts' | 'epoch' | 'lease' | 'startedAt' | 'finishedAt'
  >
>;

/**
 * One change of a job, recorded before it is applied. `_id` is `<jobId>:<rev>`, unique,
 * so exactly one writer can take each revision of a job (an insert under a unique
 * index is atomic on FerretDB and MongoDB alike); see queue/job-transitions.ts. Kept
 * afterwards as the job's history: every attempt, who ran it, and when.
 */
export interface JobTransition {
  _id: string;
  tenantId: string;
  jobId: string;
  /** The job's `rev` once this transition is applied. */
  rev: number;
  kind: TransitionKind;
  from: JobStatus;
  /** Everything the transition sets on the job, `rev` included, so anyone can finish applying it. */
  set: JobSet & { rev: number };
  /** The job's lease epoch once applied. */
  epoch: number;
  by: { serverId: string; runnerId: string | null };
  at: Date;
}

const jobTransitionSchema = new Schema<JobTransition>(
  {
    _id: { type: String, required: true },
    jobId: { type: String, required: true },
    rev: { type: Number, required: true },
    kind: { type: String, enum: ['claim', 'complete', 'fail', 'cancel', 'expire', 'deadline', 'remove-image'], required: true },
    from: { type: String, required: true },
    set: { type: Schema.Types.Mixed, required: true },
    epoch: { type: Number, required: true },
    by: {
      serverId: { type: String, required: true },
      runnerId: { type: String, default: null },
    },
    at: { type: Date, required: true },
  },
  { collection: 'job_transitions', minimize: false, versionKey: false },
);
jobTransitionSchema.plugin(tenantPlugin);
jobTransitionSchema.index({ tenantId: 1, jobId: 1, rev: 1 });

export function jobTransitionModel(connection: Connection): Model<JobTransition> {
  return connection.model<JobTransition>('JobTransition', jobTransitionSchema);
}
