import { EventEmitter } from 'node:events';
import type { JobEvent } from '@atelier/protocol';
import type { JobEventRelay } from './job-event-relay.js';

export type { JobEvent };

export interface JobEventEnvelope {
  tenantId: string;
  jobId: string;
  /** The lease epoch the event is about, when it is about one (an old epoch's news must not end a new lease). */
  epoch?: number;
  event: JobEvent;
}

/** The emitter's channel for "runnable work appeared"; job channels are job ids, which never collide with it. */
const WORK = 'work';
/** Every event of a tenant's jobs also goes out on this channel (queue estimates follow it). */
const tenantChannel = (tenantId: string) => `tenant:${tenantId}`;

/**
 * Job events, for every server process on the database. `publish` reaches this
 * process's subscribers at once and, through the relay (job-event-relay.ts), the other
 * processes' within a poll interval or so. The database stays the source of truth (a
 * resumed or late watcher reads the job), so an event lost on the way costs a snapshot,
 * not a result. Without a relay (unit tests) events stay in the process.
 */
export class JobEvents {
  private readonly emitter = new EventEmitter();

  constructor(private readonly relay?: JobEventRelay) {
    this.emitter.setMaxListeners(0);
  }

  /** Starts carrying events between processes (no-op without a relay). */
  start(): void {
    this.relay?.start({
      deliver: (envelope) => this.emit(envelope),
      work: () => this.emitter.emit(WORK),
      listening: () => this.emitter.eventNames().length > 0,
    });
  }

  /** Stops polling and writes what is still waiting to be relayed. */
  async stop(): Promise<void> {
    await this.relay?.stop();
  }

  publish(tenantId: string, jobId: string, event: JobEvent, epoch?: number): void {
    const envelope: JobEventEnvelope = { tenantId, jobId, event, ...(epoch === undefined ? {} : { epoch }) };
    this.emit(envelope);
    this.relay?.send(envelope);
  }

  private emit(envelope: JobEventEnvelope): void {
    this.emitter.emit(envelope.jobId, envelope);
    this.emitter.emit(tenantChannel(envelope.tenantId), envelope);
  }

  subscribe(jobId: string, listener: (envelope: JobEventEnvelope) => void): () => void {
    this.emitter.on(jobId, listener);
    return () => this.emitter.off(jobId, listener);
  }

  /** Events of every job of the tenant, from this process and (relayed) the others. */
  subscribeTenant(tenantId: string, listener: (envelope: JobEventEnvelope) => void): () => void {
    const channel = tenantChannel(tenantId);
    this.emitter.on(channel, listener);
    return () => this.emitter.off(channel, listener);
  }

  /** Runnable work appeared (here or in another process); a dispatcher with idle runners listens. */
  onWork(listener: () => void): () => void {
    this.emitter.on(WORK, listener);
    return () => this.emitter.off(WORK, listener);
  }

  /** New runnable work: wakes this process's dispatcher and the other processes'. */
  announceWork(): void {
    this.emitter.emit(WORK);
    this.relay?.sendWork();
  }
}
