import { MODES, type GenerationMode, type Performance } from '@atelier/protocol';
import { createLogger } from '../logging/logger.js';
import type { JobQueue, Lease } from './job-queue.js';
import type { Generation } from '../models/generation.model.js';

const log = createLogger('dispatcher');

/** A runner connected to this server that has said it is ready for work. */
export interface IdleRunner {
  readonly id: string;
  /** The modes it can run; it is offered only jobs of these. */
  readonly modes: readonly GenerationMode[];
  /** The presets it runs (its `hello.performances`); undefined: every preset. */
  readonly performances?: readonly Performance[] | undefined;
  /** Hands the leased job to the runner; false if the runner went away meanwhile. */
  assign(job: Generation & Lease): boolean;
  /** Epoch milliseconds until which its circuit breaker keeps it out of rotation (runner-health.ts); 0: in rotation. */
  coolingDownUntil?(): number;
}

export interface DispatcherOptions {
  /** How often to look for work anyway (retries coming due, a wake-up that was lost). */
  pollMs: number;
  /** How often to look for expired leases (a sweep reads every open lease). */
  sweepMs: number;
  /** Told when runnable work appears, here or in another server process. */
  work: { onWork(listener: () => void): () => void };
  /** Repairs run every `everyMs` (credit reservations a crash left open). */
  repair?: { everyMs: number; run(): Promise<unknown> };
}

/**
 * Matches this server's idle runners with queued jobs. Passes are serialised and
 * coalesced: `notify()` during a pass schedules exactly one more. Claims themselves
 * are fenced in the database, so several servers can dispatch at once. While it has
 * idle runners it listens for new work, including work queued through other processes.
 */
export class Dispatcher {
  private readonly idle = new Map<string, IdleRunner>();
  private pass: Promise<void> | undefined;
  private again = false;
  private timer: NodeJS.Timeout | undefined;
  private sweeper: NodeJS.Timeout | undefined;
  private sweep: Promise<void> | undefined;
  private repairer: NodeJS.Timeout | undefined;
  private repair: Promise<void> | undefined;
  private stopListening: (() => void) | undefined;
  /** Wakes a pass when the first idle runner that is cooling down is back in rotation. */
  private cooldownTimer: { at: number; timer: NodeJS.Timeout } | undefined;

  constructor(
    private readonly queue: JobQueue,
    private readonly options: DispatcherOptions,
  ) {}

  start(): void {
    this.timer = setInterval(() => this.notify(), this.options.pollMs);
    this.timer.unref();
    this.sweeper = setInterval(() => {
      this.sweep ??= Promise.all([this.queue.sweepExpiredLeases(), this.queue.sweepDeadlines()])
        .then(
          ([swept]) => {
            if (swept > 0) this.notify();
          },
          (error: unknown) => log.error({ err: error }, 'lease sweep failed'),
        )
        .finally(() => {
          this.sweep = undefined;
        });
    }, this.options.sweepMs);
    this.sweeper.unref();
    const { repair } = this.options;
    if (repair) {
      this.repairer = setInterval(() => {
        this.repair ??= repair
          .run()
          .then(
            () => undefined,
            (error: unknown) => log.error({ err: error }, 'repair failed'),
          )
          .finally(() => {
            this.repair = undefined;
          });
      }, repair.everyMs);
      this.repairer.unref();
    }
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    clearInterval(this.sweeper);
    clearInterval(this.repairer);
    clearTimeout(this.cooldownTimer?.timer);
    this.idle.clear();
    this.listenForWork();
    await this.pass;
    await this.sweep;
    await this.repair;
  }

  addIdle(runner: IdleRunner): void {
    this.idle.set(runner.id, runner);
    this.listenForWork();
    this.notify();
  }

  remove(runnerId: string): void {
    this.idle.delete(runnerId);
    this.listenForWork();
  }

  get idleCount(): number {
    return this.idle.size;
  }

  notify(): void {
    if (this.pass) {
      this.again = true;
      return;
    }
    this.pass = this.drain()
      .catch((error: unknown) => log.error({ err: error }, 'dispatch pass failed'))
      .finally(() => {
        this.pass = undefined;
        if (this.again) {
          this.again = false;
          this.notify();
        }
      });
  }

  /** Resolves once no dispatch pass is running (tests and shutdown). */
  async settled(): Promise<void> {
    while (this.pass) await this.pass;
  }

  /** Listens for new work exactly while there is an idle runner to give it to (listening makes the relay poll). */
  private listenForWork(): void {
    if (this.idle.size > 0) {
      this.stopListening ??= this.options.work.onWork(() => this.notify());
    } else {
      this.stopListening?.();
      this.stopListening = undefined;
    }
  }

  private wakeAt(at: number): void {
    if (this.cooldownTimer && this.cooldownTimer.at <= at) return;
    clearTimeout(this.cooldownTimer?.timer);
    const timer = setTimeout(
      () => {
        this.cooldownTimer = undefined;
        this.notify();
      },
      Math.max(0, at - Date.now()),
    );
    timer.unref();
    this.cooldownTimer = { at, timer };
  }

  private async drain(): Promise<void> {
    for (const runner of [...this.idle.values()]) {
      if (!this.idle.has(runner.id)) continue;
      // A runner out of rotation stays idle here, leased nothing, until its cool-down ends.
      const coolingUntil = runner.coolingDownUntil?.() ?? 0;
      if (coolingUntil > Date.now()) {
        this.wakeAt(coolingUntil);
        continue;
      }
      const job = await this.queue.claimNext(runner.id, runner.modes, runner.performances);
      // Nothing for a runner that can run any job means nothing for the others either; a
      // runner limited to some modes or presets may just have found none of its kind.
      if (!job && !runner.performances && MODES.every((mode) => runner.modes.includes(mode))) return;
      if (!job) continue;
      this.idle.delete(runner.id);
      this.listenForWork();
      if (!runner.assign(job)) {
        // The job never reached a runner, so it goes back in line at once.
        await this.queue.fail(job, { code: 'runner_disconnected', message: 'The GPU runner went away.' }, { backoff: false });
      }
    }
  }
}
