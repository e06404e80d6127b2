import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import {
  REALTIME_CLOSE,
  REALTIME_MAX_FRAME_BYTES,
  REALTIME_PATH,
  REALTIME_STREAM_PATH,
  type ServerMessage,
} from '@atelier/protocol';
import { createLogger } from '../logging/logger.js';
import type { Tenant } from '../models/tenant.model.js';
import type { Gate, Identity } from '../http/strategies/identity.js';
import type { VerifiedKey } from '../services/key-service.js';
import { ConnectionLimits, clientAddress } from './connection-limits.js';
import { createSocketServer, guardSocket, limitMessageRate, type MessageBudget } from './guard-socket.js';
import { type ShopperSocket, StreamSocket } from './stream-socket.js';
import { WidgetSession, type WidgetSessionDeps } from './widget-session.js';

/** A connection's admission: a tenant to serve, or why not. */
type Admission = { address: string } & (
  | { kind: 'admitted'; tenant: Tenant; key: VerifiedKey; shopperToken: string | undefined; gate: WidgetGate }
  | { kind: 'over-limit'; limit: 'address' | 'tenant' }
  | { kind: 'refused'; message: string }
);

const log = createLogger('widget-hub');

/** What the widget's entry points (the socket and the stream) accept: strategy-names.ts. */
type WidgetGate = Gate<'publishable-key' | 'shopper-session'>;

/**
 * A shopper's widget sends a handful of messages a minute (hello, generate, watch after
 * a reconnect, cancel); far more is a script, and each message may cost a database
 * round trip.
 */
export const WIDGET_MESSAGE_BUDGET: MessageBudget = { burst: 60, perSecond: 20 };

export interface WidgetHubDeps extends WidgetSessionDeps {
  /** The server's credentials, as passport strategies (the publishable key, the shopper session). */
  identity: Pick<Identity, 'at'>;
  /** Open widget sockets allowed per client address, and per tenant. */
  maxSocketsPerAddress: number;
  maxSocketsPerTenant: number;
  pingMs?: number;
  messageBudget?: MessageBudget;
}

/**
 * The shopper's socket (`/v1/realtime?key=pk_…`). The publishable key names the tenant
 * and the browser's `Origin` must be one the tenant allowed (or this server's own, the
 * embed page's): the `publishable-key` strategy; otherwise the socket is
 * closed with 4401 before anything is read or created. A shopper session, when the page
 * has one, is checked at `hello` (WidgetSession, the `shopper-session` strategy) and binds
 * the socket to that shopper. Sockets are capped per address
 * and per tenant (4429), one that does not say hello in time is closed (4408), and one
 * that sends more messages than a widget would is told so and closed (4429).
 * See docs/realtime-protocol.md.
 */
export class WidgetHub {
  private readonly wss = createSocketServer(REALTIME_MAX_FRAME_BYTES);
  private readonly clients = new Set<WidgetSession>();
  private readonly limits = new ConnectionLimits();
  private readonly pinger: NodeJS.Timeout;
  /** Open HTTP-fallback streams, by id (their POSTs land here). */
  private readonly streams = new Map<string, StreamSocket>();
  private readonly socketGate: WidgetGate;
  private readonly streamGate: WidgetGate;

  constructor(private readonly deps: WidgetHubDeps) {
    this.socketGate = deps.identity.at(`WS ${REALTIME_PATH}`);
    this.streamGate = deps.identity.at(`GET ${REALTIME_STREAM_PATH}`);
    this.pinger = setInterval(() => this.clients.forEach((client) => client.ping()), deps.pingMs ?? 30_000);
    this.pinger.unref();
  }

  async handleUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const admission = await this.admit(request, socket, this.socketGate);
    this.wss.handleUpgrade(request, socket, head, (ws) => {
      guardSocket(ws, log, { address: admission.address });
      this.open(ws, admission);
    });
  }

  /**
   * The HTTP fallback (`GET /v1/realtime/stream?key=…`, Server-Sent Events): admitted as a
   * socket is, then the same session runs over the stream. CORS answers the page's own
   * origin, so that a refused page can read why, as it can over a WebSocket.
   */
  async handleStream(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const admission = await this.admit(request, request.socket, this.streamGate);
    const stream = new StreamSocket(response, request.headers.origin ?? 'null');
    this.streams.set(stream.id, stream);
    stream.once('close', () => this.streams.delete(stream.id));
    stream.start();
    this.open(stream, admission);
  }

  /**
   * A client message POSTed on a stream (`POST /v1/realtime/stream/:id`, the body one JSON
   * message). False when no open stream of that id exists here, or the POST comes from
   * another origin than the stream's page.
   */
  post(streamId: string, origin: string | undefined, body: Buffer): boolean {
    const stream = this.streams.get(streamId);
    if (!stream || stream.origin !== origin || stream.readyState !== stream.OPEN) return false;
    stream.receive(body);
    return true;
  }

  /** Checks the key, the page's origin and the connection caps, before anything is read. */
  private async admit(request: IncomingMessage, connection: Duplex, gate: WidgetGate): Promise<Admission> {
    const address = clientAddress(request);
    if (!this.limits.hold(`address:${address}`, this.deps.maxSocketsPerAddress, connection)) {
      log.warn({ limit: 'address', key: address }, 'widget connection over the connection limit');
      return { address, kind: 'over-limit', limit: 'address' };
    }
    const check = await gate.authenticate('publishable-key', request);
    if (!check.ok) {
      log.warn({ origin: request.headers.origin, reason: check.refusal.reason }, 'widget socket refused');
      return { address, kind: 'refused', message: check.refusal.message };
    }
    const { tenant, key } = check.principal;
    if (!this.limits.hold(`tenant:${tenant._id}`, this.deps.maxSocketsPerTenant, connection)) {
      log.warn({ limit: 'tenant', key: tenant._id }, 'widget connection over the connection limit');
      return { address, kind: 'over-limit', limit: 'tenant' };
    }
    // A shopper session on the URL is checked at hello, against the one hello may carry.
    const shopperToken = new URL(request.url ?? '/', 'http://localhost').searchParams.get('session') ?? undefined;
    return { address, kind: 'admitted', tenant, key, shopperToken, gate };
  }

  /** Runs an admitted connection as a session, or tells a refused one why and closes it. */
  private open(socket: ShopperSocket, admission: Admission): void {
    const { address } = admission;
    if (admission.kind === 'over-limit') {
      // Completing the handshake only to say so with 4429, as a refusal does.
      send(socket, {
        type: 'error',
        code: 'rate_limited',
        message: `Too many open studio connections ${admission.limit === 'address' ? 'from this address' : 'for this shop'}; try again shortly.`,
        retryAfter: 5,
      });
      socket.close(REALTIME_CLOSE.tooManyConnections, 'too many connections');
      return;
    }
    if (admission.kind === 'refused') {
      // Closing with a code (rather than failing the HTTP handshake) lets the widget
      // tell "refused" from "unreachable" and stop retrying.
      send(socket, { type: 'error', code: 'unauthorized', message: admission.message });
      socket.close(REALTIME_CLOSE.unauthorized, 'unauthorized');
      return;
    }
    const tenantId = admission.tenant._id;
    limitMessageRate(socket, this.deps.messageBudget ?? WIDGET_MESSAGE_BUDGET, (retryAfter) => {
      log.warn({ address, tenantId }, 'widget socket over its message budget; closed');
      send(socket, {
        type: 'error',
        code: 'rate_limited',
        message: 'Too many messages on this connection; reconnect shortly.',
        retryAfter,
      });
      socket.close(REALTIME_CLOSE.tooManyConnections, 'too many messages');
    });
    const client = new WidgetSession(
      socket,
      admission.tenant,
      this.deps,
      { address, key: admission.key, shopperToken: admission.shopperToken, credentials: admission.gate },
      () => this.clients.delete(client),
    );
    this.clients.add(client);
  }

  close(): Promise<void> {
    clearInterval(this.pinger);
    for (const client of this.clients) client.close(REALTIME_CLOSE.goingAway, 'server shutting down');
    this.wss.close();
    return Promise.resolve();
  }
}

function send(socket: ShopperSocket, message: ServerMessage): void {
  socket.send(JSON.stringify(message));
}
