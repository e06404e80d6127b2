/**
 * A background task run at start and then every `intervalMs`, one run at a time (a slow
 * run delays the next rather than overlapping it). A failed run is reported and the
 * schedule carries on. `stop` waits for a run in progress, which must not outlive the
 * database connection.
 */
export class PeriodicRun {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly task: () => Promise<unknown>,
    private readonly onError: (error: unknown) => void,
  ) {}

  start(intervalMs: number): void {
    const run = () => {
      this.running = this.running.then(this.task).catch(this.onError);
    };
    run();
    this.timer = setInterval(run, intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }
}
