import { createHash } from 'node:crypto';
import type { WebSocket, RawData } from 'ws';
import {
  RUNNER_CLOSE,
  RUNNER_PROTOCOL_VERSION,
  splitImageFrame,
  type Code,
  type GenerationMode,
  type Performance,
  type ResolvedJobParams,
  type RunnerMessage,
  type ServerToRunnerMessage,
} from '@atelier/protocol';
import { imageFrameHeaderSchema, runnerMessageSchema } from '@atelier/protocol/schemas';
import { createLogger } from '../logging/logger.js';
import type { StoredImage } from '../models/generation.model.js';
import type { Dispatcher, IdleRunner } from '../queue/dispatcher.js';
import type { JobEvents } from '../queue/job-events.js';
import type { JobQueue, Lease } from '../queue/job-queue.js';
import { RunnerBreaker, type BreakerPolicy } from '../queue/runner-health.js';
import type { RunnerRegistry } from '../queue/runner-registry.js';
import { newId } from '../services/ids.js';
import { offerAssets, type JobAsset } from '../storage/job-assets.js';
import type { UrlSigner } from '../storage/signed-urls.js';
import { tenantKey, type Storage } from '../storage/storage.js';

const log = createLogger('runner-session');

export interface RunnerHubDeps {
  queue: JobQueue;
  dispatcher: Dispatcher;
  registry: RunnerRegistry;
  /** Tells a session when its job ends elsewhere (cancelled through another server process). */
  events: JobEvents;
  /** This server process, recorded with each runner it holds. */
  serverId: string;
  storage: Storage;
  /** Signs the URLs of a job's input files (`assets` of the job offer). */
  signer: UrlSigner;
  heartbeatMs: number;
  leaseMs: number;
  helloTimeoutMs: number;
  /** Open runner sockets allowed per client address (before the token is checked), and per token. */
  maxSocketsPerAddress: number;
  maxSocketsPerToken: number;
  /** Persist progress to the database at most this often (every step is still broadcast). */
  progressPersistMs?: number;
  /** When a runner whose jobs keep failing is taken out of rotation. */
  breaker: BreakerPolicy;
}

interface ActiveLease extends Lease {
  /** How many images the job asked for; a completion with fewer (or more) is not one. */
  imageCount: number;
  images: StoredImage[];
  lastPersistAt: number;
  lastStage: string;
  /** Stops listening for the job's events. */
  unsubscribe: () => void;
}

/** One runner's connection: its protocol state and the one lease it may hold. */
export class RunnerSession implements IdleRunner {
  private lease: ActiveLease | undefined;
  private greeted = false;
  /** The presets the runner said it runs; undefined: every preset. */
  performances: Performance[] | undefined;
  private work: Promise<void> = Promise.resolve();
  /** Settles once the socket has closed and its job is back in the queue. */
  private readonly finished: Promise<void>;
  private readonly helloTimer: NodeJS.Timeout;
  private readonly breaker: RunnerBreaker;
  /** When the runner last said anything (a message or a pong). */
  private lastHeard = Date.now();

  constructor(
    readonly id: string,
    private readonly tokenId: string,
    private readonly ws: WebSocket,
    private readonly deps: RunnerHubDeps,
    private readonly onGone: () => void,
  ) {
    this.helloTimer = setTimeout(() => ws.close(RUNNER_CLOSE.helloTimeout, 'no hello'), deps.helloTimeoutMs);
    this.breaker = new RunnerBreaker(deps.breaker, (state) => deps.registry.breaker(id, state));
    // Messages are handled strictly in order: an image frame must be stored before the
    // `completed` that follows it is processed.
    ws.on('message', (data, isBinary) => {
      this.lastHeard = Date.now();
      this.work = this.work
        .then(() => this.handle(data, isBinary))
        .catch((error: unknown) => {
          log.error({ err: error, runnerId: this.id }, 'runner message failed');
        });
    });
    // In line with the messages, so that it cannot land after the disconnect is recorded.
    ws.on('pong', () => {
      this.lastHeard = Date.now();
      this.work = this.work
        .then(() => this.seen())
        .catch((error: unknown) => {
          log.error({ err: error, runnerId: this.id }, 'runner liveness update failed');
        });
    });
    const closed = new Promise<void>((resolve) =>
      ws.once('close', () => {
        clearTimeout(this.helloTimer);
        resolve();
      }),
    );
    this.finished = closed
      .then(() => this.gone())
      .catch((error: unknown) => log.error({ err: error, runnerId: this.id }, 'runner cleanup failed'));
  }

  /** What the runner said it can run (`hello.modes`); until then, and for runners that do not say, text-to-image. */
  modes: readonly GenerationMode[] = ['txt2img'];

  coolingDownUntil(): number {
    return this.breaker.coolingDownUntil();
  }

  assign(job: Lease & { resolved: ResolvedJobParams; assets?: JobAsset[] }): boolean {
    if (this.ws.readyState !== this.ws.OPEN) return false;
    const lease: ActiveLease = {
      jobId: job.jobId,
      tenantId: job.tenantId,
      epoch: job.epoch,
      imageCount: job.resolved.imageCount,
      images: [],
      lastPersistAt: 0,
      lastStage: 'loading',
      // The job can end without this runner: a cancel (or the lease sweeper) in any server
      // process publishes it, and the runner must hear at once rather than at its next report.
      unsubscribe: this.deps.events.subscribe(job.jobId, ({ tenantId, epoch, event }) => {
        if (tenantId !== lease.tenantId || epoch !== lease.epoch || event.type === 'progress' || event.type === 'completed')
          return;
        if (event.type === 'failed' && event.code === 'canceled') this.cancel(lease.jobId, lease.epoch);
        else if (this.lease === lease) this.loseLease(lease);
      }),
    };
    this.lease = lease;
    this.send({
      type: 'job',
      jobId: job.jobId,
      epoch: job.epoch,
      params: job.resolved,
      assets: offerAssets(this.deps.signer, job.tenantId, job.assets),
    });
    void this.deps.registry.seen(this.id, 'busy', job.jobId);
    // A cancel between the claim and the subscription above published nothing it heard.
    void this.ended(lease).catch((error: unknown) =>
      log.error({ err: error, runnerId: this.id, jobId: lease.jobId }, 'could not confirm a lease'),
    );
    return true;
  }

  /**
   * Reads how the job stands and, if it no longer runs under this lease, tells the runner
   * why: `cancel` for a cancel, `lease-lost` otherwise. Events between processes are
   * delivered at most once, so a stale heartbeat or report is the runner's sure way to
   * learn of a cancel that its event went missing for.
   */
  private async ended(lease: ActiveLease): Promise<void> {
    const state = await this.deps.queue.leaseState(lease);
    if (state === 'held' || this.lease !== lease) return;
    if (state === 'canceled') this.cancel(lease.jobId, lease.epoch);
    else this.loseLease(lease);
  }

  /**
   * The job was cancelled: the runner abandons it and, like after any job, says `ready`,
   * which must then be honoured rather than ignored as "still busy".
   */
  cancel(jobId: string, epoch: number): void {
    const lease = this.lease;
    if (lease?.jobId !== jobId || lease.epoch !== epoch) return; // told already, or no longer its job
    this.release();
    void this.discard(lease);
    this.send({ type: 'cancel', jobId, epoch });
  }

  ping(): void {
    if (!this.greeted || this.ws.readyState !== this.ws.OPEN) return;
    // A runner whose machine lost power or network leaves its socket open on this side
    // (TCP never says so): it would keep being offered work that only a lease expiry
    // brings back. Two leases of silence is past any lease it held, so dropping it
    // cannot race the lease path; its job, if any, has moved on already.
    const silentMs = Date.now() - this.lastHeard;
    if (silentMs > 2 * this.deps.leaseMs) {
      log.warn({ runnerId: this.id, silentMs }, 'runner answers nothing; dropping its socket');
      this.ws.terminate();
      return;
    }
    this.ws.ping();
  }

  private async seen(): Promise<void> {
    await this.deps.registry.seen(this.id, this.lease ? 'busy' : 'idle', this.lease?.jobId ?? null);
  }

  send(message: ServerToRunnerMessage): void {
    if (this.ws.readyState === this.ws.OPEN) this.ws.send(JSON.stringify(message));
  }

  /** Closes the socket and waits until its job is requeued (the database must still be open for that). */
  async close(code: number, reason: string): Promise<void> {
    this.ws.close(code, reason);
    await this.finished;
  }

  private async handle(data: RawData, isBinary: boolean): Promise<void> {
    if (isBinary) return this.handleImage(toBuffer(data));
    let message: RunnerMessage;
    try {
      message = runnerMessageSchema.parse(JSON.parse(toBuffer(data).toString('utf8')));
    } catch {
      log.warn({ runnerId: this.id }, 'runner sent a message outside the protocol; closing');
      this.ws.close(RUNNER_CLOSE.protocolError, 'not a runner protocol message');
      return;
    }
    if (message.type !== 'hello' && !this.greeted) {
      this.ws.close(RUNNER_CLOSE.protocolError, 'say hello first');
      return;
    }
    switch (message.type) {
      case 'hello':
        if (this.greeted) {
          this.ws.close(RUNNER_CLOSE.protocolError, 'hello twice');
          return;
        }
        if (message.v !== RUNNER_PROTOCOL_VERSION) {
          this.send({ type: 'error', code: 'unsupported_version', message: `protocol v${RUNNER_PROTOCOL_VERSION} only` });
          this.ws.close(RUNNER_CLOSE.protocolError, 'unsupported protocol version');
          return;
        }
        this.greeted = true;
        this.performances = message.performances;
        clearTimeout(this.helloTimer);
        if (message.modes) this.modes = [...new Set<GenerationMode>(['txt2img', ...message.modes])];
        await this.deps.registry.connected({
          _id: this.id,
          tokenId: this.tokenId,
          serverId: this.deps.serverId,
          name: message.name,
          device: message.device,
          model: message.model,
          maxPixels: message.maxPixels,
          capabilities: message.capabilities ?? null,
          ...(message.performances && { performances: message.performances }),
        });
        this.send({ type: 'welcome', runnerId: this.id, heartbeatMs: this.deps.heartbeatMs, leaseMs: this.deps.leaseMs });
        log.info({ runnerId: this.id, name: message.name, device: message.device }, 'runner connected');
        return;
      case 'ready':
        if (this.lease) return; // still finishing a job; `completed`/`failed` frees it
        await this.deps.registry.seen(this.id, 'idle', null);
        // A `ready` read after the socket closed (the runner said it, then left) must not
        // put a runner that is gone back in line: it would be leased the next job.
        if (this.ws.readyState === this.ws.OPEN) this.deps.dispatcher.addIdle(this);
        return;
      case 'heartbeat': {
        const lease = this.holding(message.jobId, message.epoch);
        if (lease && (await this.deps.queue.heartbeat(lease)) === 'stale') await this.ended(lease);
        await this.deps.registry.seen(this.id, 'busy', message.jobId);
        return;
      }
      case 'progress': {
        const lease = this.holding(message.jobId, message.epoch);
        if (!lease) return;
        const now = Date.now();
        const persist =
          message.stage !== lease.lastStage ||
          message.step === message.steps ||
          now - lease.lastPersistAt >= (this.deps.progressPersistMs ?? 1000);
        const { type: _type, jobId: _jobId, epoch: _epoch, ...progress } = message;
        const outcome = await this.deps.queue.progress(lease, progress, persist);
        if (outcome === 'stale') return this.ended(lease);
        if (persist) {
          lease.lastPersistAt = now;
          lease.lastStage = message.stage;
        }
        return;
      }
      case 'completed': {
        const lease = this.holding(message.jobId, message.epoch);
        if (!lease) return;
        this.release();
        const indexes = new Set(lease.images.map((image) => image.index));
        if (
          message.imageCount !== lease.imageCount ||
          lease.images.length !== lease.imageCount ||
          indexes.size !== lease.imageCount
        ) {
          const failed = await this.deps.queue.fail(lease, {
            code: 'incomplete_upload',
            message: `The runner sent ${lease.images.length} of ${lease.imageCount} images.`,
          });
          await this.discard(lease);
          if (failed !== 'stale') await this.jobFailed('incomplete_upload');
          return;
        }
        const outcome = await this.deps.queue.complete(lease, lease.images);
        if (outcome === 'stale') {
          await this.discard(lease);
          this.send({ type: 'lease-lost', jobId: lease.jobId, epoch: lease.epoch });
        } else if (await this.breaker.succeeded()) {
          log.info({ runnerId: this.id }, 'runner back in rotation after a successful trial');
        }
        await this.deps.registry.seen(this.id, 'idle', null);
        return;
      }
      case 'failed': {
        const lease = this.holding(message.jobId, message.epoch);
        if (!lease) return;
        this.release();
        const failed = await this.deps.queue.fail(lease, { code: message.code, message: message.message });
        await this.discard(lease);
        // Before the runner's next `ready` is read: a runner that has just tripped is leased nothing.
        if (failed !== 'stale') await this.jobFailed(message.code);
        this.deps.dispatcher.notify();
        return;
      }
    }
  }

  private async jobFailed(code: Code): Promise<void> {
    const opened = await this.breaker.failed(code);
    if (opened) {
      log.warn(
        { runnerId: this.id, failures: opened.failures, code, until: opened.coolingDownUntil },
        'runner taken out of rotation: its jobs keep failing',
      );
    }
  }

  private async handleImage(frame: Buffer): Promise<void> {
    const split = splitImageFrame(frame);
    const parsed = split.ok ? imageFrameHeaderSchema.safeParse(split.header) : undefined;
    if (!split.ok || !parsed?.success) {
      this.ws.close(RUNNER_CLOSE.protocolError, split.ok ? 'not an image frame header' : split.reason);
      return;
    }
    const header = parsed.data;
    const { bytes } = split;
    const lease = this.holding(header.jobId, header.epoch);
    if (!lease) return;
    const imageId = newId('img');
    // The epoch is part of the key: a stale attempt's files never overwrite the live one's.
    const storageKey = tenantKey(
      lease.tenantId,
      'generations',
      lease.jobId,
      `${lease.epoch}-${header.index}-${imageId}.${header.format}`,
    );
    await this.deps.storage.put(storageKey, bytes, `image/${header.format}`);
    lease.images.push({
      _id: imageId,
      index: header.index,
      storageKey,
      width: header.width,
      height: header.height,
      format: header.format,
      bytes: bytes.length,
      sha256: createHash('sha256').update(bytes).digest('hex'),
      seed: header.seed,
      ...(header.productFidelity !== undefined && { productFidelity: header.productFidelity }),
    });
  }

  /** The runner's lease if the message is about it; otherwise tells the runner it has none. */
  private holding(jobId: string, epoch: number): ActiveLease | undefined {
    if (this.lease && this.lease.jobId === jobId && this.lease.epoch === epoch) return this.lease;
    this.send({ type: 'lease-lost', jobId, epoch });
    return undefined;
  }

  /** Lets go of the current lease (if any) and answers it. */
  private release(): ActiveLease | undefined {
    const lease = this.lease;
    this.lease = undefined;
    lease?.unsubscribe();
    return lease;
  }

  private loseLease(lease: ActiveLease): void {
    if (this.lease === lease) this.release();
    this.send({ type: 'lease-lost', jobId: lease.jobId, epoch: lease.epoch });
    void this.discard(lease);
  }

  private async discard(lease: ActiveLease): Promise<void> {
    await Promise.all(lease.images.map((image) => this.deps.storage.delete(image.storageKey)));
  }

  private async gone(): Promise<void> {
    this.deps.dispatcher.remove(this.id);
    await this.work;
    const lease = this.release();
    if (lease) {
      // Requeue at once rather than waiting for the lease to expire, and without a retry
      // backoff: the runner went away, the job did nothing wrong.
      await this.deps.queue.fail(
        lease,
        { code: 'runner_disconnected', message: 'The GPU runner disconnected.' },
        { backoff: false },
      );
      await this.discard(lease);
      this.deps.dispatcher.notify();
    }
    await this.deps.registry.disconnected(this.id);
    log.info({ runnerId: this.id }, 'runner disconnected');
    this.onGone();
  }
}

function toBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}
