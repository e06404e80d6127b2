import type { Logger } from '@atelier/runtime';

/**
 * Works off a durable queue (webhooks in, usage records out): at start-up (what a crash
 * left pending), every `retryMs` (what failed), and whenever `kick` says there is new work.
 * One drain at a time per process; a kick during a drain runs exactly one more after it.
 */
export class DrainLoop {
  private draining: Promise<void> | undefined;
  private again = false;
  private timer: NodeJS.Timeout | undefined;
  private ended = false;

  constructor(
    private readonly drain: () => Promise<void>,
    private readonly options: { retryMs: number; log: Logger; what: string },
  ) {}

  /** Whether `stop` was called: a long drain checks this between batches. */
  get stopped(): boolean {
    return this.ended;
  }

  start(): void {
    void this.kick();
    this.timer = setInterval(() => void this.kick(), this.options.retryMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    this.ended = true;
    clearInterval(this.timer);
    await this.draining;
  }

  /** Works off pending work soon; returns when this drain (or the one it joined) is done. */
  kick(): Promise<void> {
    if (this.ended) return Promise.resolve();
    if (this.draining) {
      this.again = true;
      return this.draining;
    }
    this.draining = this.drain()
      .catch((error: unknown) => this.options.log.error({ err: error }, `${this.options.what} failed`))
      .finally(() => {
        this.draining = undefined;
        if (this.again && !this.ended) {
          this.again = false;
          void this.kick();
        }
      });
    return this.draining;
  }
}
