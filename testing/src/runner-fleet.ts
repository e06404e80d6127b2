import { vi } from 'vitest';
import { DISCONNECTED, startRunnerProcess, type RunnerProcess } from './runner-process.js';

/** A job as a runner holds it: the lease's epoch fences everything it says about the job. */
export interface LeasedJob {
  jobId: string;
  epoch: number;
}

/**
 * Real runner processes against one server URL (which a restarted server keeps), to be
 * killed, stalled and replaced. Every process it ever started is stopped by `stop`.
 */
export class RunnerFleet {
  readonly runners: RunnerProcess[] = [];

  constructor(private readonly options: { serverUrl: string; token: string; name: string }) {}

  async spawn(): Promise<RunnerProcess> {
    const runner = await startRunnerProcess({
      serverUrl: this.options.serverUrl,
      token: this.options.token,
      name: `${this.options.name}-${this.runners.length}`,
    });
    this.runners.push(runner);
    return runner;
  }

  /** Waits until every live runner has connected once. */
  async connected(timeoutMs = 60_000): Promise<void> {
    await Promise.all(
      this.runners
        .filter((runner) => runner.alive())
        .map((runner) => runner.logged((line) => line.msg === 'connected to server', timeoutMs)),
    );
  }

  /** Waits for live runners in the middle of a job, and answers the one `pick` chooses. */
  midJob(
    pick: (busy: readonly RunnerProcess[]) => RunnerProcess,
    timeoutMs = 30_000,
  ): Promise<{ runner: RunnerProcess; job: LeasedJob }> {
    return vi.waitFor(
      () => {
        const busy = this.runners.filter((runner) => runner.alive() && runner.current());
        if (busy.length === 0) throw new Error('no runner is in the middle of a job');
        const runner = pick(busy);
        return { runner, job: runner.current()! };
      },
      { timeout: timeoutMs, interval: 20 },
    );
  }

  /** Whether the runner is still on this attempt of the job. */
  static stillOn(runner: RunnerProcess, job: LeasedJob): boolean {
    const current = runner.current();
    return current?.jobId === job.jobId && current.epoch === job.epoch;
  }

  /**
   * Waits for a runner let go after a stall to give up this attempt of the job, and says
   * how. The server says `lease-lost` when the lease sweeper moves the job (an event,
   * delivered at most once) and again in answer to the runner's overdue heartbeat; but a
   * runner silent for two leases has its socket dropped, which ends the attempt (a fenced
   * `fail`, runner_disconnected) if the sweeper has not yet, and aborts the job too. A stall
   * that long ends the second way (seen in CI, on a loaded machine).
   */
  static async letGo(runner: RunnerProcess, job: LeasedJob): Promise<'lease-lost' | 'disconnected'> {
    const started = runner.lines.findIndex(
      (line) => line.msg === 'job started' && line.jobId === job.jobId && line.epoch === job.epoch,
    );
    const line = await runner.logged(
      (line) =>
        runner.lines.indexOf(line) > started &&
        ((line.msg === 'abandoning job' && line.jobId === job.jobId && line.reason === 'lease-lost') ||
          line.msg === DISCONNECTED),
    );
    return line.msg === DISCONNECTED ? 'disconnected' : 'lease-lost';
  }

  /** How long each job a runner finished took, by its own log, in ms. */
  finishedJobMs(): number[] {
    return this.runners.flatMap((runner) =>
      runner.lines.filter((line) => line.msg === 'job finished').map((line) => Number(line.totalMs)),
    );
  }

  async stop(): Promise<void> {
    await Promise.all(this.runners.map((runner) => runner.stop()));
  }
}
