import type { ReadinessBody } from '@atelier/protocol';
import { createLogger } from '../logging/logger.js';
import type { RunnerRegistry } from '../queue/runner-registry.js';

const log = createLogger('readiness');

export interface ReadinessDeps {
  /** Answers once the database has answered a round trip. */
  ping(): Promise<unknown>;
  runners: Pick<RunnerRegistry, 'census'>;
  /** A database slower than this counts as unreachable (a load balancer's probe must not hang). */
  timeoutMs?: number;
  /** An answer is reused this long, so a flood of probes costs the database one read per period. */
  reuseMs?: number;
}

/**
 * Whether this deployment can take work and see it done (`GET /readyz`): its database
 * answers and at least one runner can take a job. Not ready is not dead: requests still
 * queue, and `/healthz` (liveness) stays 200. Says nothing about any tenant.
 */
export class Readiness {
  private last: { at: number; answer: Promise<ReadinessBody> } | undefined;

  constructor(private readonly deps: ReadinessDeps) {}

  check(): Promise<ReadinessBody> {
    const now = Date.now();
    if (this.last && now - this.last.at < (this.deps.reuseMs ?? 500)) return this.last.answer;
    const answer = this.read();
    this.last = { at: now, answer };
    return answer;
  }

  private async read(): Promise<ReadinessBody> {
    const timeoutMs = this.deps.timeoutMs ?? 2_000;
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      const [, census] = await Promise.race([Promise.all([this.deps.ping(), this.deps.runners.census()]), deadline]);
      const reasons: string[] = [];
      if (census.online === 0) reasons.push('no runner online');
      else if (census.healthy === 0) {
        const runners = census.coolingDown === 1 ? 'the only runner is' : `all ${census.coolingDown} runners are`;
        reasons.push(`${runners} cooling down after repeated failures, until ${census.firstBackAt?.toISOString()}`);
      }
      return {
        ready: reasons.length === 0,
        reasons,
        database: 'ok',
        runners: { ...census, firstBackAt: census.firstBackAt?.toISOString() ?? null },
      };
    } catch (error) {
      log.warn({ err: error }, 'readiness: the database did not answer');
      return { ready: false, reasons: ['database unreachable'], database: 'unreachable', runners: null };
    } finally {
      clearTimeout(timer);
    }
  }
}
