import type { RawData } from 'ws';
import {
  DEFAULT_ASPECT_RATIO,
  isRefusalReason,
  PROMPT_MAX_LENGTH,
  REALTIME_CLOSE,
  REALTIME_PROTOCOL_VERSION,
  SDXL_ASPECT_RATIOS,
  type ClientMessage,
  type GenerateMessage,
  type HelloMessage,
  type JobEvent,
  type QueueEstimate,
  type RefusalReason,
  type ServerMessage,
  type WidgetConfig,
} from '@atelier/protocol';
import { clientMessageSchema, describeIssues } from '@atelier/protocol/schemas';
import { AppError, notFound } from '../errors/app-error.js';
import { createLogger } from '../logging/logger.js';
import type { Generation } from '../models/generation.model.js';
import type { Tenant } from '../models/tenant.model.js';
import type { JobEvents } from '../queue/job-events.js';
import type { QueueWatch } from '../queue/queue-watch.js';
import type { GenerationService } from '../services/generation-service.js';
import type { RateLimits } from '../services/rate-limits.js';
import type { KeyService, VerifiedKey } from '../services/key-service.js';
import type { ShopperQuota } from '../services/shopper-sessions.js';
import type { Gate } from '../http/strategies/identity.js';
import { INVALID_PUBLISHABLE_KEY } from '../http/strategies/publishable-key-strategy.js';
import type { TenantConfigService } from '../services/tenant-config.js';
import { runWithTenant } from '../tenancy/tenant-context.js';
import type { ResumeTokens } from './resume-tokens.js';
import type { ShopperSocket } from './stream-socket.js';
import { allowedStyles } from '../services/styles.js';

const log = createLogger('widget-session');
const DAY_SECONDS = 24 * 60 * 60;

export interface WidgetSessionDeps {
  resumeTokens: ResumeTokens;
  /** The clock a shopper session's expiry is checked against (tests drive it). */
  now?: () => Date;
  generations: GenerationService;
  /** The tenant's configuration within its plan: what the studio offers. */
  configs: Pick<TenantConfigService, 'policy'>;
  /** The tenant's, the key's, the shopper's and the address's buckets, which each `generate` takes from. */
  rateLimits: Pick<RateLimits, 'admitGenerate'>;
  /** Whether the socket's publishable key still stands (not revoked, not expired), asked before each generate and watch. */
  keys: Pick<KeyService, 'standing'>;
  events: JobEvents;
  /** Current queue estimates of the queued jobs this socket follows. */
  queueWatch: Pick<QueueWatch, 'watch'>;
  /** Stops a running job on the runner holding it (after a cancel). */
  cancelOnRunner(runnerId: string, jobId: string, epoch: number): void;
  helloTimeoutMs: number;
}

/**
 * Who is on the other end, for per-shopper limits and quotas: a shopper the tenant
 * vouched for (a verified shopper session), or an anonymous browser, known only by its
 * address and the id it says it has (unverified: a script can send any id, so limits
 * keyed on it must also hold per address).
 */
export type ShopperIdentity =
  | { kind: 'verified'; shopperId: string; quota: ShopperQuota; expiresAt: Date }
  | { kind: 'anonymous'; address: string; browserId: string | null };

/** What the hub knows of the connection before `hello`. */
export interface WidgetConnection {
  address: string;
  /** The publishable key the socket was admitted with. */
  key: VerifiedKey;
  /** A shopper session given on the handshake URL (`&session=`, CONTRACT.md) rather than in hello. */
  shopperToken: string | undefined;
  /** The entry point's credential check, which the shopper session goes through (strategy-names.ts). */
  credentials: Gate<'shopper-session'>;
}

/**
 * One shopper's socket, admitted by the hub: the hello handshake (with the shopper
 * session, and resume), then `generate`, `watch` and `cancel`, each in the tenant's
 * scope. Every job event it forwards carries the session's next `seq` and the job's `ref`.
 */
export class WidgetSession {
  private sessionId: string | undefined;
  private identity: ShopperIdentity | undefined;
  /** The first hello, while it is being handled. */
  private greeting: Promise<unknown> | undefined;
  private seq = 0;
  private alive = true;
  /** Jobs this socket follows, by id. */
  private readonly watching = new Map<string, Following>();
  private readonly helloTimer: NodeJS.Timeout;

  constructor(
    private readonly ws: ShopperSocket,
    private readonly tenant: Tenant,
    private readonly deps: WidgetSessionDeps,
    private readonly connection: WidgetConnection,
    onGone: () => void,
  ) {
    this.helloTimer = setTimeout(() => this.close(REALTIME_CLOSE.helloTimeout, 'no hello'), deps.helloTimeoutMs);
    ws.on('message', (data, isBinary) => {
      // Nothing is read once the socket is closing (a close frame, a protocol error,
      // or the hub's message budget): a flood in one TCP chunk stops where it is.
      if (ws.readyState === ws.OPEN) void this.handle(data, isBinary);
    });
    ws.on('pong', () => {
      this.alive = true;
    });
    ws.once('close', () => {
      clearTimeout(this.helloTimer);
      for (const id of [...this.watching.keys()]) this.unfollow(id);
      onGone();
    });
  }

  /** Who this socket is for, once it said hello. */
  get shopper(): ShopperIdentity | undefined {
    return this.identity;
  }

  ping(): void {
    if (!this.alive) {
      this.ws.terminate();
      return;
    }
    this.alive = false;
    this.ws.ping();
  }

  close(code: number, reason: string): void {
    this.ws.close(code, reason);
  }

  private async handle(data: RawData, isBinary: boolean): Promise<void> {
    if (isBinary) {
      this.close(REALTIME_CLOSE.protocolError, 'binary frames are not part of this protocol');
      return;
    }
    let raw: unknown;
    try {
      raw = JSON.parse(String(data));
    } catch {
      this.send({ type: 'error', code: 'invalid_request', message: 'That message is not JSON.' });
      return;
    }
    const parsed = clientMessageSchema.safeParse(raw);
    if (!parsed.success) {
      // A malformed `generate` still names its request, and the client is waiting on that ref.
      const ref = (raw as { type?: unknown; ref?: unknown } | null)?.ref;
      const { summary } = describeIssues(parsed.error);
      this.send({
        type: 'error',
        ...(typeof ref === 'string' && ref.length > 0 && ref.length <= 100 ? { ref } : {}),
        code: 'invalid_request',
        message: summary,
      });
      return;
    }
    const message = parsed.data;
    // Checking a shopper session takes a moment; what the page sent right after its
    // hello waits for the outcome instead of being told to say hello first, and is
    // dropped if the hello was refused (the socket is closing then). Once greeted, a
    // message is handled without waiting: what arrived within the message budget is
    // acted on even when a later message in the same chunk closed the socket.
    if (message.type !== 'hello' && !this.sessionId && this.greeting) {
      await this.greeting;
      if (this.ws.readyState !== this.ws.OPEN) return;
    }
    if (message.type !== 'hello' && !this.sessionId) {
      this.send({ type: 'error', code: 'invalid_request', message: 'Send hello first.' });
      return;
    }
    if (message.type === 'hello' && this.greeting) {
      this.send({ type: 'error', code: 'invalid_request', message: 'This socket already said hello.' });
      return;
    }
    try {
      const done = runWithTenant(this.tenant._id, () => this.dispatch(message));
      if (message.type === 'hello') this.greeting ??= done.catch(() => undefined);
      await done;
    } catch (error) {
      // What the error answers: a generate's ref, or a watch's when it gave one.
      const about = (message.type === 'generate' || message.type === 'watch') && message.ref ? { ref: message.ref } : {};
      if (error instanceof AppError && error.expose) {
        this.send({ type: 'error', ...about, code: error.code, message: error.message, ...retryAfter(error), ...reason(error) });
      } else {
        log.error({ err: error, tenantId: this.tenant._id }, 'widget message failed');
        this.send({ type: 'error', ...about, code: 'internal', message: 'Something went wrong on our side. Please try again.' });
      }
    }
  }

  private async dispatch(message: ClientMessage): Promise<void> {
    switch (message.type) {
      case 'hello':
        return this.hello(message);
      case 'generate':
        if (!(await this.keyStands())) return;
        return this.generate(message);
      case 'watch':
        if (!(await this.keyStands())) return;
        await this.ownGeneration(message.id, message.session);
        return this.follow(message.id);
      case 'cancel': {
        await this.ownGeneration(message.id);
        const { lease } = await this.deps.generations.cancel(message.id);
        if (lease) this.deps.cancelOnRunner(lease.runnerId, message.id, lease.epoch);
        return;
      }
    }
  }

  /**
   * Idempotent per (session, ref): a widget that lost its socket before `accepted`
   * sends the same `generate` again, and gets the job the first one created.
   */
  private async generate(message: GenerateMessage): Promise<void> {
    const identity = this.identity!;
    if (identity.kind === 'verified' && identity.expiresAt <= this.now()) {
      this.refuse('The shopper session has expired; reload the page to start a new one.');
      return;
    }
    const admission = await this.deps.rateLimits.admitGenerate({
      tenantId: this.tenant._id,
      plan: this.tenant.plan,
      key: this.connection.key,
      shopper:
        identity.kind === 'verified'
          ? `shopper:${identity.shopperId}`
          : identity.browserId
            ? `browser:${identity.browserId}`
            : undefined,
      address: this.connection.address,
    });
    const { generation, created } = await this.deps.generations.create(message.params, {
      source: 'widget',
      actor: { kind: 'widget', id: this.sessionId! },
      sessionId: this.sessionId!,
      ref: message.ref,
      ...(identity.kind === 'verified'
        ? { shopperId: identity.shopperId, quota: identity.quota }
        : { browserId: identity.browserId }),
    });
    // A retry of a ref already accepted gets that job again: it was counted the first time.
    if (!created) admission.giveBack();
    this.send({ type: 'accepted', ref: message.ref, id: generation._id, seq: ++this.seq, cost: generation.cost });
    // A runner may have taken (or even finished) the job since it was created.
    await this.follow(generation._id);
  }

  /**
   * A shopper sees only the jobs of their own session: the publishable key is public,
   * so knowing another shopper's job id must not be enough to watch or cancel it. An
   * earlier session of this tenant and this same shopper counts as their own when its
   * signed token is shown (a reloaded page showing its recent results); a verified
   * shopper's jobs are theirs from any session.
   *
   * The token proves this for as long as the tenant keeps results (`retentionDays`), not
   * just its resume day: an anonymous shopper has no other name, and the browser that
   * kept the token (beside the results it remembers) is the one that held the session.
   * Only that session's jobs, only in its tenant, and an anonymous session's only to an
   * anonymous socket: the token names the shopper it was bound to, which must be this socket's.
   */
  private async ownGeneration(id: string, proof?: string): Promise<Generation> {
    const generation = await this.deps.generations.get(id);
    const shopperId = this.identity?.kind === 'verified' ? this.identity.shopperId : undefined;
    const kept = proof ? (await this.deps.configs.policy(this.tenant)).config.retentionDays * DAY_SECONDS : 0;
    const earlier = proof ? this.deps.resumeTokens.verify(proof, this.now().getTime(), kept) : undefined;
    const proven =
      earlier?.ok === true && earlier.claims.tenantId === this.tenant._id && earlier.claims.shopperId === shopperId
        ? earlier.claims.sessionId
        : undefined;
    const sameSession = generation.sessionId !== null && [this.sessionId, proven].includes(generation.sessionId);
    const sameShopper = shopperId !== undefined && generation.source === 'widget' && generation.shopperId === shopperId;
    if (!sameSession && !sameShopper) throw notFound('The generation');
    return generation;
  }

  private async hello({ v: version, resume, shopper, browser }: HelloMessage): Promise<void> {
    if (this.sessionId) {
      this.send({ type: 'error', code: 'invalid_request', message: 'This socket already said hello.' });
      return;
    }
    if (version !== REALTIME_PROTOCOL_VERSION) {
      this.send({
        type: 'error',
        code: 'unsupported_version',
        message: `This studio speaks protocol version ${REALTIME_PROTOCOL_VERSION}; reload the page to update it.`,
      });
      this.close(REALTIME_CLOSE.protocolError, 'unsupported protocol version');
      return;
    }
    clearTimeout(this.helloTimer);
    const identity = await this.identify(shopper, browser);
    if (!identity) return;
    this.identity = identity;
    const shopperId = identity.kind === 'verified' ? identity.shopperId : undefined;
    const previous = resume ? this.deps.resumeTokens.verify(resume.session) : undefined;
    // A socket session continues only for the same shopper: a page that switched
    // shoppers must not pick up the other one's jobs.
    const resumed =
      previous?.ok === true && previous.claims.tenantId === this.tenant._id && previous.claims.shopperId === shopperId;
    const { token, claims } = this.deps.resumeTokens.mint(this.tenant._id, {
      sessionId: resumed ? previous.claims.sessionId : undefined,
      shopperId,
    });
    this.sessionId = claims.sessionId;
    if (resumed && resume) this.seq = resume.lastSeq;
    this.send({ type: 'welcome', session: token, resume: resumed, config: await this.config() });
    if (!resumed) return;
    // Sequence numbers continue after the client's lastSeq; each of the session's jobs
    // is sent as it stands now (a snapshot, not a replay of what was missed).
    for (const generation of await this.deps.generations.forSession(claims.sessionId)) await this.follow(generation._id);
  }

  /**
   * The shopper session (in hello, or on the handshake URL) checked against this socket's
   * tenant; without one, an anonymous browser. A session that does not verify refuses
   * the socket (error `unauthorized`, close 4401) rather than falling back to anonymous:
   * the tenant meant this shopper to be known, and silently dropping that would lift
   * their per-shopper limits.
   */
  private async identify(shopper: string | undefined, browser: string | undefined): Promise<ShopperIdentity | undefined> {
    const fromUrl = this.connection.shopperToken;
    if (shopper !== undefined && fromUrl !== undefined && shopper !== fromUrl) {
      this.refuse('Two different shopper sessions were given (hello.shopper and the URL); give one.');
      return undefined;
    }
    const token = shopper ?? fromUrl;
    if (token === undefined) return { kind: 'anonymous', address: this.connection.address, browserId: browser ?? null };
    const check = await this.connection.credentials.authenticate('shopper-session', { token, tenantId: this.tenant._id });
    if (!check.ok) {
      log.warn({ tenantId: this.tenant._id, reason: check.refusal.reason }, 'shopper session refused');
      this.refuse(check.refusal.message);
      return undefined;
    }
    const { shopperId, quota, expiresAt } = check.principal.claims;
    return { kind: 'verified', shopperId, quota, expiresAt };
  }

  /**
   * The key was valid when the socket opened; revoked or expired since (a rotation's grace
   * over), the socket is refused as a new one would be, and closed. Work it started runs on.
   */
  private async keyStands(): Promise<boolean> {
    const standing = await this.deps.keys.standing(this.tenant._id, this.connection.key.id);
    if (standing === 'valid') return true;
    log.warn({ tenantId: this.tenant._id, keyId: this.connection.key.id, standing }, 'publishable key no longer valid');
    this.refuse(INVALID_PUBLISHABLE_KEY);
    return false;
  }

  private refuse(message: string): void {
    this.send({ type: 'error', code: 'unauthorized', message });
    this.close(REALTIME_CLOSE.unauthorized, 'unauthorized');
  }

  private now(): Date {
    return this.deps.now?.() ?? new Date();
  }

  /**
   * Sends the job's state as it stands now, then every event after it. The job is read
   * after subscribing, and its events wait until that state is sent: an event that
   * came before the read is in what was read (events follow their write), and one
   * during it comes after the state, so nothing falls in between. A job already
   * followed gets its state sent again (a `watch` is answered with it), unless a state
   * is on its way already.
   */
  private async follow(id: string): Promise<void> {
    let following = this.watching.get(id);
    if (following?.held) return;
    if (!following) {
      const entry: Following = { ref: undefined, held: [], unsubscribe: () => undefined, sent: undefined };
      entry.unsubscribe = this.deps.events.subscribe(id, ({ tenantId, event }) => {
        if (tenantId !== this.tenant._id) return;
        if (entry.held) entry.held.push(event);
        else this.sendJob(id, event);
      });
      this.watching.set(id, (following = entry));
    }
    following.held ??= [];
    try {
      const generation = await this.deps.generations.get(id);
      following.ref = generation.ref ?? undefined;
      await this.sendSnapshot(generation);
    } finally {
      const held = following.held;
      following.held = undefined;
      // A finished job stops being followed (sendJob): what is held after it is stale.
      for (const event of held) if (this.watching.get(id) === following) this.sendJob(id, event);
      if (this.ws.readyState !== this.ws.OPEN) this.unfollow(id);
    }
  }

  private unfollow(id: string): void {
    const following = this.watching.get(id);
    following?.unsubscribe();
    following?.stopEstimates?.();
    this.watching.delete(id);
  }

  /**
   * A new estimate for a job this socket follows: sent only while the last thing this
   * socket said of the job is that it is queued, and only when it differs from that (an
   * estimate read before the job started must not follow its `progress`).
   */
  private estimated(id: string, estimate: QueueEstimate): void {
    const following = this.watching.get(id);
    if (!following || following.held || following.sent?.type !== 'queued') return;
    const { position, etaSeconds, runners } = following.sent;
    if (position === estimate.position && etaSeconds === estimate.etaSeconds && runners === estimate.runners) return;
    this.sendJob(id, { type: 'queued', ...estimate });
  }

  private async sendSnapshot(generation: Generation): Promise<void> {
    const view = await this.deps.generations.view(generation);
    switch (view.status) {
      case 'queued':
        return this.sendJob(view.id, { type: 'queued', ...view.queue! });
      case 'running':
        return this.sendJob(view.id, { type: 'progress', ...view.progress });
      case 'succeeded':
        return this.sendJob(view.id, { type: 'completed', images: view.images });
      default:
        return this.sendJob(view.id, {
          type: 'failed',
          code: view.error?.code ?? 'canceled',
          message: view.error?.message ?? 'The generation did not finish.',
        });
    }
  }

  private sendJob(id: string, event: JobEvent): void {
    const following = this.watching.get(id);
    const ref = following?.ref;
    this.send({ ...event, id, seq: ++this.seq, ...(ref ? { ref } : {}) });
    if (event.type === 'completed' || event.type === 'failed') return this.unfollow(id);
    if (!following) return;
    following.sent = event;
    // Estimates are kept current only while the job waits.
    if (event.type === 'queued') {
      following.stopEstimates ??= this.deps.queueWatch.watch(this.tenant._id, id, (estimate) => this.estimated(id, estimate));
    } else {
      following.stopEstimates?.();
      following.stopEstimates = undefined;
    }
  }

  private send(message: ServerMessage): void {
    if (this.ws.readyState === this.ws.OPEN) this.ws.send(JSON.stringify(message));
  }

  private async config(): Promise<WidgetConfig> {
    const { config, plan } = await this.deps.configs.policy(this.tenant);
    const styles = allowedStyles(config).map((style) => style.name);
    return {
      tenantName: this.tenant.name,
      defaultPerformance: config.presets.default,
      performances: config.presets.allowed,
      aspectRatios: [...SDXL_ASPECT_RATIOS],
      defaultAspectRatio: DEFAULT_ASPECT_RATIO,
      maxPromptLength: PROMPT_MAX_LENGTH,
      styles,
      // Spelled as `styles` spells them, so the widget can match them exactly.
      defaultStyles: styles.filter((name) => config.styles.default.some((wanted) => wanted.toLowerCase() === name.toLowerCase())),
      maxImages: plan.maxImagesPerRequest,
      maxPixels: plan.maxPixels,
      branding: config.branding,
    };
  }
}

interface Following {
  /** The `generate` ref that created the job, when a widget did. */
  ref: string | undefined;
  /** Events held back while the job's current state is read and sent. */
  held: JobEvent[] | undefined;
  unsubscribe: () => void;
  /** The last event sent about the job. */
  sent: JobEvent | undefined;
  /** Stops the queue estimates (queue-watch.ts) while the job is queued. */
  stopEstimates?: () => void;
}

/** The refusal's reason, when it is one the widget words (the REST problem carries it as a member too). */
function reason(error: AppError): { reason?: RefusalReason } {
  const value = error.details?.reason;
  return isRefusalReason(value) ? { reason: value } : {};
}

function retryAfter(error: AppError): { retryAfter?: number } {
  return error.retryAfter === undefined ? {} : { retryAfter: error.retryAfter };
}
