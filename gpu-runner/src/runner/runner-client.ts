import { setTimeout as sleep } from 'node:timers/promises';
import WebSocket from 'ws';
import {
  RECONNECT_BACKOFF,
  RUNNER_FAILURE_CODES,
  RUNNER_PATH,
  RUNNER_PROTOCOL_VERSION,
  backoffDelay,
  encodeImageFrame,
  socketUrl,
  type RunnerCapabilities,
  type RunnerFailureCode,
  type RunnerJobMessage,
  type RunnerMessage,
  type ServerToRunnerMessage,
} from '@atelier/protocol';
import { serverToRunnerMessageSchema } from '@atelier/protocol/schemas';
import { PipelineError } from '../errors/pipeline-error.js';
import { moduleLogger } from '../logging/logger.js';
import type { Previewer } from '../pipeline/preview.js';
import type { AssetCache } from './asset-cache.js';
import type { JobExecutor } from './job-executor.js';

const log = moduleLogger('runner-client');

export interface RunnerClientOptions {
  /** The server's base URL, e.g. `http://127.0.0.1:8787`. */
  serverUrl: string;
  /** `rt_…` */
  token: string;
  name: string;
  /** A name for the model, reported to the server (e.g. the model directory's name). */
  model: string;
  executor: JobExecutor;
  /** Where job assets are fetched to; needed only for jobs that have any. */
  assets?: AssetCache;
  /** Reported in every `hello` (read afresh each time: free memory changes). */
  capabilities?: () => Promise<RunnerCapabilities>;
  /** Renders the previews sent with progress; none without it. */
  preview?: Previewer;
}

interface CurrentJob {
  jobId: string;
  epoch: number;
  abort: AbortController;
  /** Settles when the job has ended here (finished, failed or abandoned). */
  done: Promise<void>;
}

/** How a drain ended: the job in flight finished (or there was none), or it was handed back. */
export type DrainOutcome = 'finished' | 'abandoned';

/**
 * Dials out to the server (a GPU box needs only outbound access), asks for work when
 * idle, runs one leased job at a time, streams progress after every step, sends the
 * images as binary frames and then `completed`. Reconnects with backoff forever until
 * stopped; a job in flight when the connection drops is abandoned, because the server
 * has already put it back in the queue. `drain` stops it gracefully: no more `ready`,
 * the job in flight finishes, then the connection closes.
 */
export class RunnerClient {
  private socket: WebSocket | undefined;
  private current: CurrentJob | undefined;
  private heartbeat: NodeJS.Timeout | undefined;
  /** Until the server's `welcome` says otherwise. */
  private heartbeatMs = 5_000;
  private stopped = false;
  /** Told to stop once the job in flight is done: says `ready` no more. */
  private draining = false;
  private attempt = 0;
  private loop: Promise<void> | undefined;

  constructor(private readonly options: RunnerClientOptions) {}

  start(): void {
    this.loop ??= this.run();
  }

  /** The job in flight, if any. */
  get jobInFlight(): string | undefined {
    return this.current?.jobId;
  }

  /** Stops at once: a job in flight is abandoned, and the server requeues it when the connection closes. */
  async stop(): Promise<void> {
    this.stopped = true;
    const current = this.current;
    current?.abort.abort();
    this.socket?.close(1000, 'runner stopping');
    await this.loop;
    // The step in flight runs to its end; the pipeline must not be disposed under it.
    await current?.done;
  }

  /**
   * Stops gracefully: says `ready` no more, lets the job in flight finish (its images and
   * `completed` or `failed` are sent) for at most `timeoutMs`, then closes the connection.
   * The server requeues a job it still holds for this runner when the connection closes
   * (at once, without the retry backoff): one abandoned on the timeout or by a `stop()`
   * meanwhile, or one it leased in the moment before this runner stopped saying `ready`.
   */
  async drain(timeoutMs: number): Promise<DrainOutcome> {
    this.draining = true;
    const current = this.current;
    let outcome: DrainOutcome = 'finished';
    if (current) {
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), timeoutMs)));
      const ended = await Promise.race([current.done.then(() => 'ended' as const), timedOut]);
      clearTimeout(timer);
      if (ended === 'timeout' || current.abort.signal.aborted) outcome = 'abandoned';
    }
    await this.stop();
    return outcome;
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      const code = await this.connectOnce();
      // A drain has nothing left to finish once the connection is gone (the server requeued the job).
      if (this.stopped || this.draining) break;
      this.attempt += 1;
      const delay = backoffDelay(this.attempt, RECONNECT_BACKOFF);
      log.warn({ delay, code }, 'disconnected from server; reconnecting');
      await sleep(delay);
    }
  }

  /** One connection's lifetime; resolves with its close code. */
  private connectOnce(): Promise<number> {
    const url = socketUrl(this.options.serverUrl, RUNNER_PATH);
    return new Promise((resolve) => {
      const socket = new WebSocket(url, { headers: { Authorization: `Bearer ${this.options.token}` } });
      this.socket = socket;
      socket.on('open', () => {
        this.attempt = 0;
        void this.hello();
      });
      socket.on('message', (data, isBinary) => {
        if (isBinary) return;
        let raw: unknown;
        try {
          raw = JSON.parse(String(data));
        } catch {
          raw = undefined;
        }
        const parsed = serverToRunnerMessageSchema.safeParse(raw);
        if (!parsed.success) {
          // A server this runner does not understand; reconnecting will not fix that soon.
          log.error({ message: String(data).slice(0, 200) }, 'the server sent a message outside the runner protocol');
          return;
        }
        this.handle(parsed.data);
      });
      socket.on('unexpected-response', (_request, response) => {
        if (response.statusCode === 401) log.error('the server refused the runner token (401); retrying in case it is fixed');
        else log.error({ status: response.statusCode }, 'the server refused the runner connection');
        socket.terminate();
      });
      socket.on('error', (error) => log.debug({ err: error }, 'socket error'));
      socket.on('close', (code) => {
        this.stopHeartbeat();
        // The server requeued the job when this connection dropped; finishing it would be wasted.
        this.current?.abort.abort();
        this.current = undefined;
        resolve(code);
      });
    });
  }

  private async hello(): Promise<void> {
    const { executor, name, model, capabilities } = this.options;
    let reported: RunnerCapabilities | undefined;
    try {
      reported = await capabilities?.();
    } catch (error) {
      log.warn({ err: error }, 'cannot read the runner capabilities; saying hello without them');
    }
    this.send({
      type: 'hello',
      v: RUNNER_PROTOCOL_VERSION,
      name,
      device: executor.device,
      model,
      maxPixels: executor.maxPixels,
      modes: [...executor.modes],
      ...(executor.performances && { performances: [...executor.performances] }),
      ...(reported ? { capabilities: reported } : {}),
    });
  }

  private handle(message: ServerToRunnerMessage): void {
    switch (message.type) {
      case 'welcome':
        log.info({ runnerId: message.runnerId }, 'connected to server');
        this.heartbeatMs = message.heartbeatMs;
        this.ready();
        return;
      case 'job':
        void this.runJob(message);
        return;
      case 'cancel':
      case 'lease-lost':
        if (this.current?.jobId === message.jobId && this.current.epoch === message.epoch) {
          log.info({ jobId: message.jobId, reason: message.type }, 'abandoning job');
          this.current.abort.abort();
        }
        return;
      case 'error':
        log.error({ code: message.code }, message.message);
        return;
    }
  }

  private ready(): void {
    if (!this.draining) this.send({ type: 'ready' });
  }

  private async runJob(job: RunnerJobMessage): Promise<void> {
    if (this.current) {
      log.error({ jobId: job.jobId }, 'server leased a second job while one is running');
      return;
    }
    let settle = () => undefined as void;
    const current: CurrentJob = {
      jobId: job.jobId,
      epoch: job.epoch,
      abort: new AbortController(),
      done: new Promise<void>((resolve) => (settle = resolve)),
    };
    this.current = current;
    const { jobId, epoch } = job;
    const started = performance.now();
    this.startHeartbeat(jobId, epoch);
    log.info({ jobId, epoch, width: job.params.width, height: job.params.height, steps: job.params.steps }, 'job started');
    try {
      const assets = await this.fetchAssets(job, current.abort.signal);
      const images = await this.options.executor.generate(job.params, {
        assets,
        signal: current.abort.signal,
        ...(this.options.preview ? { preview: this.options.preview } : {}),
        onProgress: (progress) => this.send({ type: 'progress', jobId, epoch, ...progress }),
      });
      if (current.abort.signal.aborted) return;
      images.forEach((image, index) => {
        const { bytes, width, height, format, seed, productFidelity } = image;
        const header = { type: 'image' as const, jobId, epoch, index, width, height, format, seed };
        this.sendBinary(encodeImageFrame(productFidelity === undefined ? header : { ...header, productFidelity }, bytes));
      });
      this.send({ type: 'completed', jobId, epoch, imageCount: images.length });
      log.info({ jobId, totalMs: Math.round(performance.now() - started) }, 'job finished');
    } catch (error) {
      if (current.abort.signal.aborted) {
        log.info({ jobId }, 'job aborted');
      } else {
        log.error({ err: error, jobId }, 'job failed');
        this.send({ type: 'failed', jobId, epoch, code: failureCode(error), message: (error as Error).message ?? String(error) });
      }
    } finally {
      this.stopHeartbeat();
      if (this.current === current) this.current = undefined;
      if (!this.stopped && this.socket?.readyState === WebSocket.OPEN) this.ready();
      settle();
    }
  }

  private async fetchAssets(job: RunnerJobMessage, signal: AbortSignal) {
    if (job.assets.length === 0) return [];
    if (!this.options.assets) throw new PipelineError('invalid_params', 'this runner has no asset cache configured');
    return this.options.assets.fetchAll(job.assets, signal);
  }

  private startHeartbeat(jobId: string, epoch: number): void {
    this.stopHeartbeat();
    this.heartbeat = setInterval(() => this.send({ type: 'heartbeat', jobId, epoch }), this.heartbeatMs);
  }

  private stopHeartbeat(): void {
    clearInterval(this.heartbeat);
    this.heartbeat = undefined;
  }

  private send(message: RunnerMessage): void {
    if (this.socket?.readyState === WebSocket.OPEN) this.socket.send(JSON.stringify(message));
  }

  private sendBinary(frame: Uint8Array): void {
    if (this.socket?.readyState === WebSocket.OPEN) this.socket.send(frame, { binary: true });
  }
}

/** The registry code to report for a failed job; anything unclassified is `internal` (retryable). */
function failureCode(error: unknown): RunnerFailureCode {
  const code = (error as { code?: unknown }).code;
  return RUNNER_FAILURE_CODES.find((known) => known === code) ?? 'internal';
}
