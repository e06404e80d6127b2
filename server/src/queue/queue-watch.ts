import type { JobEvent, QueueEstimate } from '@atelier/protocol';
import { createLogger } from '../logging/logger.js';
import type { JobEvents } from './job-events.js';
import type { QueueEstimator } from './queue-estimator.js';

const log = createLogger('queue-watch');

/** A tenant's estimates are computed at most this often, so a job's watchers hear at most one update per interval. */
const DEFAULT_INTERVAL_MS = 1_000;
/**
 * With nothing heard, a watched tenant is estimated again this often anyway: the time
 * its running jobs have left shrinks, and jobs can move in ways no event tells of.
 */
const DEFAULT_REFRESH_MS = 15_000;

export interface QueueWatchDeps {
  events: Pick<JobEvents, 'subscribeTenant'>;
  estimator: Pick<QueueEstimator, 'forTenant' | 'fingerprint'>;
  intervalMs?: number;
  refreshMs?: number;
}

/** Told a queued job's estimate each time it is computed; the listener decides whether it changed. */
export type EstimateListener = (estimate: QueueEstimate) => void;

interface WatchedTenant {
  /** Listeners by job id. */
  jobs: Map<string, Set<EstimateListener>>;
  /** An event of the tenant's jobs was heard since its estimates were last computed. */
  dirty: boolean;
  computing: boolean;
  computedAt: number;
  /** The estimator's fingerprint when its estimates were last computed; unknown before that. */
  fingerprint: string | undefined;
  unsubscribe: () => void;
}

/**
 * Keeps the queue estimates of watched queued jobs current, for all of this process's
 * watchers at once. A tenant's estimates are computed again (one read of its queue, for
 * every watcher of every one of its jobs) when one of its jobs starts, ends or returns to
 * the queue, here or in another process (events come through the relay), when the
 * runners or the tenants sharing them change (the estimator's fingerprint), and every
 * `refreshMs` regardless; never more often than every `intervalMs`.
 */
export class QueueWatch {
  private readonly tenants = new Map<string, WatchedTenant>();
  private timer: NodeJS.Timeout | undefined;
  private ticking = false;

  constructor(private readonly deps: QueueWatchDeps) {}

  /** Calls `listener` with the job's estimate each time it is computed, while the job is queued. */
  watch(tenantId: string, jobId: string, listener: EstimateListener): () => void {
    let tenant = this.tenants.get(tenantId);
    if (!tenant) {
      const entry: WatchedTenant = {
        jobs: new Map(),
        dirty: false,
        computing: false,
        computedAt: Date.now(),
        fingerprint: undefined,
        unsubscribe: () => {},
      };
      entry.unsubscribe = this.deps.events.subscribeTenant(tenantId, ({ event }) => {
        if (movesQueue(event)) entry.dirty = true;
      });
      this.tenants.set(tenantId, (tenant = entry));
    }
    const listeners = tenant.jobs.get(jobId) ?? new Set();
    listeners.add(listener);
    tenant.jobs.set(jobId, listeners);
    this.timer ??= setInterval(() => void this.tick(), this.deps.intervalMs ?? DEFAULT_INTERVAL_MS).unref();
    const watched = tenant;
    return () => {
      listeners.delete(listener);
      if (listeners.size === 0 && watched.jobs.get(jobId) === listeners) watched.jobs.delete(jobId);
      if (watched.jobs.size === 0 && this.tenants.get(tenantId) === watched) {
        watched.unsubscribe();
        this.tenants.delete(tenantId);
      }
      if (this.tenants.size === 0) {
        clearInterval(this.timer);
        this.timer = undefined;
      }
    };
  }

  private async tick(): Promise<void> {
    if (this.ticking) return;
    this.ticking = true;
    try {
      const fingerprint = await this.deps.estimator.fingerprint();
      const now = Date.now();
      const refreshMs = this.deps.refreshMs ?? DEFAULT_REFRESH_MS;
      const due = (tenant: WatchedTenant) =>
        tenant.dirty || tenant.fingerprint !== fingerprint || now - tenant.computedAt >= refreshMs;
      await Promise.all(
        [...this.tenants]
          .filter(([, tenant]) => !tenant.computing && due(tenant))
          .map(([tenantId, tenant]) => this.compute(tenantId, tenant, fingerprint)),
      );
    } catch (error) {
      log.warn({ err: error }, 'could not update queue estimates');
    } finally {
      this.ticking = false;
    }
  }

  private async compute(tenantId: string, tenant: WatchedTenant, fingerprint: string): Promise<void> {
    // An event heard while this reads marks it again, for the next tick.
    tenant.dirty = false;
    tenant.fingerprint = fingerprint;
    tenant.computing = true;
    try {
      const estimates = await this.deps.estimator.forTenant(tenantId);
      tenant.computedAt = Date.now();
      for (const [jobId, listeners] of tenant.jobs) {
        const estimate = estimates.get(jobId);
        if (estimate) for (const listener of listeners) listener(estimate);
      }
    } catch (error) {
      tenant.fingerprint = undefined;
      log.warn({ err: error, tenantId }, 'could not estimate the queue');
    } finally {
      tenant.computing = false;
    }
  }
}

/** Events after which the tenant's queued jobs may stand elsewhere: a job started, ended, or came back. */
function movesQueue(event: JobEvent): boolean {
  return event.type !== 'progress' || (event.step === 0 && event.stage === 'loading');
}
