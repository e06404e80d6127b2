import { EventEmitter } from 'node:events';
import type { JobEvent } from '@atelier/protocol';

export type { JobEvent };

export interface JobEventEnvelope {
  tenantId: string;
  jobId: string;
  event: JobEvent;
}

/**
 * Job events within one server process. The database stays the source of truth (a
 * resumed or late watcher reads the job), so a lost event costs a snapshot, not a
 * result; a capped-collection relay for several server instances can publish here.
 */
export class JobEvents {
  private readonly emitter = new EventEmitter();

  constructor() {
    this.emitter.setMaxListeners(0);
  }

  publish(tenantId: string, jobId: string, event: JobEvent): void {
    this.emitter.emit(jobId, { tenantId, jobId, event } satisfies JobEventEnvelope);
  }

  subscribe(jobId: string, listener: (envelope: JobEventEnvelope) => void): () => void {
    this.emitter.on(jobId, listener);
    return () => this.emitter.off(jobId, listener);
  }
}
