import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import { z } from 'zod';
import {
  DEFAULT_ASPECT_RATIO,
  PROMPT_MAX_LENGTH,
  REALTIME_CLOSE,
  REALTIME_PROTOCOL_VERSION,
  SDXL_ASPECT_RATIOS,
  type ClientMessage,
  type ServerMessage,
  type WidgetConfig,
} from '../protocol/index.js';
import { AppError, notFound } from '../errors/app-error.js';
import { createLogger } from '../logging/logger.js';
import type { Generation } from '../models/generation.model.js';
import type { Tenant } from '../models/tenant.model.js';
import type { JobEvent, JobEvents } from '../queue/job-events.js';
import type { GenerationService } from '../services/generation-service.js';
import type { KeyService } from '../services/key-service.js';
import { planFor } from '../services/plans.js';
import { DEFAULT_PERFORMANCE } from '../services/presets.js';
import { generationParamsSchema, parse } from '../http/schemas.js';
import { runWithTenant } from '../tenancy/tenant-context.js';
import type { SessionTokens } from './session-tokens.js';

const log = createLogger('widget-hub');

const clientMessageSchema = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('hello'),
    v: z.number().int(),
    resume: z.object({ session: z.string().max(1000), lastSeq: z.number().int().nonnegative() }).optional(),
  }),
  z.object({ type: z.literal('generate'), ref: z.string().min(1).max(100), params: z.unknown() }),
  z.object({ type: z.literal('cancel'), id: z.string().max(100) }),
  z.object({ type: z.literal('watch'), id: z.string().max(100) }),
]);

export interface WidgetHubDeps {
  keys: KeyService;
  sessions: SessionTokens;
  generations: GenerationService;
  events: JobEvents;
  /** Stops a running job on the runner holding it (after a cancel). */
  cancelOnRunner(runnerId: string, jobId: string, epoch: number): void;
  pingMs?: number;
}

/**
 * The shopper's socket (`/v1/realtime?key=pk_…`). The publishable key names the tenant
 * and the browser's `Origin` must be one the tenant allowed; otherwise the socket is
 * closed with 4401 before anything is read or created. See docs/realtime-protocol.md.
 */
export class WidgetHub {
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 });
  private readonly clients = new Set<WidgetSession>();
  private readonly pinger: NodeJS.Timeout;

  constructor(private readonly deps: WidgetHubDeps) {
    this.pinger = setInterval(() => this.clients.forEach((client) => client.ping()), deps.pingMs ?? 30_000);
    this.pinger.unref();
  }

  async handleUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://localhost');
    const check = await this.deps.keys.verifyPublishableKey(url.searchParams.get('key') ?? undefined);
    const origin = request.headers.origin;
    const refusal = !check.ok
      ? 'This studio is not configured correctly: the publishable key is not valid.'
      : !origin || !check.tenant.origins.includes(origin)
        ? `This website (${origin ?? 'unknown origin'}) is not allowed to use this studio.`
        : undefined;

    this.wss.handleUpgrade(request, socket, head, (ws) => {
      if (refusal || !check.ok) {
        // Closing with a code (rather than failing the HTTP handshake) lets the widget
        // tell "refused" from "unreachable" and stop retrying.
        log.warn({ origin, reason: check.ok ? 'origin' : check.reason }, 'widget socket refused');
        ws.send(JSON.stringify({ type: 'error', code: 'unauthorized', message: refusal ?? 'unauthorized' } satisfies ServerMessage));
        ws.close(REALTIME_CLOSE.unauthorized, 'unauthorized');
        return;
      }
      const client = new WidgetSession(ws, check.tenant, this.deps, () => this.clients.delete(client));
      this.clients.add(client);
    });
  }

  async close(): Promise<void> {
    clearInterval(this.pinger);
    for (const client of this.clients) client.close(REALTIME_CLOSE.goingAway, 'server shutting down');
    this.wss.close();
  }
}

class WidgetSession {
  private sessionId: string | undefined;
  private seq = 0;
  private alive = true;
  private readonly watching = new Map<string, () => void>();

  constructor(
    private readonly ws: WebSocket,
    private readonly tenant: Tenant,
    private readonly deps: WidgetHubDeps,
    private readonly onGone: () => void,
  ) {
    ws.on('message', (data) => void this.handle(data));
    ws.on('pong', () => {
      this.alive = true;
    });
    ws.once('close', () => {
      this.watching.forEach((unsubscribe) => unsubscribe());
      this.watching.clear();
      this.onGone();
    });
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

  private async handle(data: RawData): Promise<void> {
    let message: ClientMessage;
    let raw: unknown;
    try {
      raw = JSON.parse(String(data));
      message = clientMessageSchema.parse(raw) as ClientMessage;
    } catch {
      // A malformed `generate` still names its request, and the client is waiting on that ref.
      const ref = (raw as { ref?: unknown } | null)?.ref;
      this.send({
        type: 'error',
        ...(typeof ref === 'string' && ref.length > 0 && ref.length <= 100 ? { ref } : {}),
        code: 'invalid_request',
        message: 'That message is not part of the studio protocol.',
      });
      return;
    }
    if (message.type !== 'hello' && !this.sessionId) {
      this.send({ type: 'error', code: 'invalid_request', message: 'Send hello first.' });
      return;
    }
    try {
      await runWithTenant(this.tenant._id, () => this.dispatch(message));
    } catch (error) {
      const ref = message.type === 'generate' ? message.ref : undefined;
      if (error instanceof AppError && error.expose) {
        this.send({ type: 'error', ...(ref ? { ref } : {}), code: error.code, message: error.message });
      } else {
        log.error({ err: error, tenantId: this.tenant._id }, 'widget message failed');
        this.send({ type: 'error', ...(ref ? { ref } : {}), code: 'internal', message: 'Something went wrong on our side. Please try again.' });
      }
    }
  }

  private async dispatch(message: ClientMessage): Promise<void> {
    switch (message.type) {
      case 'hello':
        return this.hello(message.v, message.resume);
      case 'generate': {
        const params = parse(generationParamsSchema, message.params);
        const { generation, queue } = await this.deps.generations.create(params, {
          source: 'widget',
          sessionId: this.sessionId!,
        });
        this.send({ type: 'accepted', ref: message.ref, id: generation._id, seq: ++this.seq, cost: generation.cost });
        this.watch(generation._id);
        this.sendJob(generation._id, { type: 'queued', ...queue });
        return;
      }
      case 'watch': {
        const generation = await this.ownGeneration(message.id);
        this.watch(generation._id);
        await this.sendSnapshot(generation);
        return;
      }
      case 'cancel': {
        await this.ownGeneration(message.id);
        const { lease } = await this.deps.generations.cancel(message.id);
        if (lease) this.deps.cancelOnRunner(lease.runnerId, message.id, lease.epoch);
        return;
      }
    }
  }

  /**
   * A shopper sees only the jobs of their own session: the publishable key is public,
   * so knowing another shopper's job id must not be enough to watch or cancel it.
   */
  private async ownGeneration(id: string): Promise<Generation> {
    const generation = await this.deps.generations.get(id);
    if (generation.sessionId !== this.sessionId) throw notFound('The generation');
    return generation;
  }

  private async hello(version: number, resume?: { session: string; lastSeq: number }): Promise<void> {
    if (version !== REALTIME_PROTOCOL_VERSION) {
      this.send({ type: 'error', code: 'invalid_request', message: `Only protocol version ${REALTIME_PROTOCOL_VERSION} is supported.` });
      return;
    }
    const previous = resume ? this.deps.sessions.verify(resume.session) : undefined;
    const resumed = previous?.ok === true && previous.claims.tenantId === this.tenant._id;
    const { token, claims } = this.deps.sessions.mint(this.tenant._id, resumed ? previous.claims.sessionId : undefined);
    this.sessionId = claims.sessionId;
    if (resumed && resume) this.seq = resume.lastSeq;
    this.send({ type: 'welcome', session: token, resume: resumed, config: this.config() });
    if (!resumed) return;
    // Sequence numbers live only as long as a socket, so a resumed client gets the
    // current state of each of its jobs instead of a replay.
    for (const generation of await this.deps.generations.forSession(claims.sessionId)) {
      this.watch(generation._id);
      await this.sendSnapshot(generation);
    }
  }

  private watch(jobId: string): void {
    if (this.watching.has(jobId)) return;
    const unsubscribe = this.deps.events.subscribe(jobId, ({ tenantId, event }) => {
      if (tenantId === this.tenant._id) this.sendJob(jobId, event);
    });
    this.watching.set(jobId, unsubscribe);
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
          code: view.error?.code ?? view.status,
          message: view.error?.message ?? 'The generation did not finish.',
        });
    }
  }

  private sendJob(id: string, event: JobEvent): void {
    this.send({ ...event, id, seq: ++this.seq } as ServerMessage);
    if (event.type === 'completed' || event.type === 'failed') {
      this.watching.get(id)?.();
      this.watching.delete(id);
    }
  }

  private send(message: ServerMessage): void {
    if (this.ws.readyState === this.ws.OPEN) this.ws.send(JSON.stringify(message));
  }

  private config(): WidgetConfig {
    return {
      tenantName: this.tenant.name,
      defaultPerformance: DEFAULT_PERFORMANCE,
      performances: [...planFor(this.tenant.plan).performances],
      aspectRatios: [...SDXL_ASPECT_RATIOS],
      defaultAspectRatio: DEFAULT_ASPECT_RATIO,
      maxPromptLength: PROMPT_MAX_LENGTH,
    };
  }
}
