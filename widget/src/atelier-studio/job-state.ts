import { CODES, type JobStage, type PublicImage, type RefusalReason, type ServerMessage, isCode } from '@atelier/protocol';

export type JobPhase = 'idle' | 'sending' | 'accepted' | 'queued' | 'running' | 'completed' | 'failed';

/** What the widget knows about the one job it is showing. Immutable; see `reduceJob`. */
export interface JobView {
  readonly phase: JobPhase;
  /** The client's `generate.ref`, known from the click on. */
  readonly ref: string | null;
  /** The server's job id, known from `accepted` on. */
  readonly id: string | null;
  readonly prompt: string;
  readonly queue: { position: number; etaSeconds: number | null; runners: number } | null;
  readonly progress: { step: number; steps: number; stage: JobStage } | null;
  /** Latest live preview (a data: URL), until the results replace it. */
  readonly preview: string | null;
  readonly images: readonly PublicImage[];
  readonly error: { code: string; message: string; reason?: RefusalReason } | null;
}

export const IDLE_JOB: JobView = {
  phase: 'idle',
  ref: null,
  id: null,
  prompt: '',
  queue: null,
  progress: null,
  preview: null,
  images: [],
  error: null,
};

export function startJob(ref: string, prompt: string): JobView {
  return { ...IDLE_JOB, phase: 'sending', ref, prompt };
}

export function failJob(job: JobView, code: string, message: string, reason?: RefusalReason): JobView {
  return { ...job, phase: 'failed', error: reason ? { code, message, reason } : { code, message } };
}

/** A job between the click and its outcome: Generate stays disabled meanwhile. */
export function isBusy(job: JobView): boolean {
  return job.phase === 'sending' || job.phase === 'accepted' || job.phase === 'queued' || job.phase === 'running';
}

/**
 * Whether "Try again" can help: only after a failure the code registry calls retryable
 * (a busy moment, a lost runner) and gave no reason. A refused description, an empty
 * balance or a day's quota used up fails the same way again; their messages say what to
 * do instead.
 */
export function canRetry(job: JobView): boolean {
  const code = job.error?.code;
  return job.phase === 'failed' && !job.error?.reason && isCode(code) && CODES[code].retryable;
}

/**
 * Whether a server message is about this job (the socket also carries older jobs'
 * events). By ref too: after a reconnect the job's first event may come before any
 * `accepted`. A finished job has heard its end, which a resume may send again.
 */
export function concerns(job: JobView, message: ServerMessage): boolean {
  const { id, ref } = message as { id?: string; ref?: string };
  // An error without a ref is about the connection as a whole: always shown.
  if (message.type === 'error' && !ref) return true;
  return isBusy(job) && ((!!ref && ref === job.ref) || (!!id && id === job.id));
}

export function reduceJob(job: JobView, message: ServerMessage): JobView {
  switch (message.type) {
    case 'welcome':
      return job;
    case 'accepted':
      // A resume may have brought the job's state before the answer to its request.
      return { ...job, phase: job.id ? job.phase : 'accepted', id: message.id };
    case 'queued':
      return {
        ...job,
        id: message.id,
        phase: 'queued',
        queue: { position: message.position, etaSeconds: message.etaSeconds, runners: message.runners },
      };
    case 'progress':
      return {
        ...job,
        id: message.id,
        phase: 'running',
        progress: { step: message.step, steps: message.steps, stage: message.stage },
        preview: message.preview ?? job.preview,
      };
    case 'completed': {
      const steps = job.progress?.steps ?? 1;
      return {
        ...job,
        id: message.id,
        phase: 'completed',
        progress: { step: steps, steps, stage: 'uploading' },
        preview: null,
        images: message.images,
      };
    }
    case 'failed':
      return { ...failJob(job, message.code, message.message), id: message.id };
    case 'error':
      return failJob(job, message.code, message.message, message.reason);
  }
}
