import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { WebSocket } from 'ws';
import { REALTIME_CLOSE, REALTIME_MAX_FRAME_BYTES, type ServerMessage } from '@atelier/protocol';
import { createLogger } from '../logging/logger.js';
import type { KeyService } from '../services/key-service.js';
import { ConnectionLimits, clientAddress } from './connection-limits.js';
import { createSocketServer, guardSocket, limitMessageRate, type MessageBudget } from './guard-socket.js';
import { WidgetSession, type WidgetSessionDeps } from './widget-session.js';

const log = createLogger('widget-hub');

/**
 * A shopper's widget sends a handful of messages a minute (hello, generate, watch after
 * a reconnect, cancel); far more is a script, and each message may cost a database
 * round trip.
 */
export const WIDGET_MESSAGE_BUDGET: MessageBudget = { burst: 60, perSecond: 20 };

export interface WidgetHubDeps extends WidgetSessionDeps {
  keys: KeyService;
  /** Open widget sockets allowed per client address, and per tenant. */
  maxSocketsPerAddress: number;
  maxSocketsPerTenant: number;
  /**
   * This server's public URL. Its own origin is allowed for every key: it is the origin of
   * the embed page (iframe mode), which the server renders only for a parent the tenant
   * allowed and which only that parent may frame; no other site runs script there.
   */
  publicUrl?: () => string;
  pingMs?: number;
  messageBudget?: MessageBudget;
}

/**
 * The shopper's socket (`/v1/realtime?key=pk_…`). The publishable key names the tenant
 * and the browser's `Origin` must be one the tenant allowed (or this server's own, the
 * embed page's); otherwise the socket is
 * closed with 4401 before anything is read or created. A shopper session, when the page
 * has one, is checked at `hello` (WidgetSession) and binds the socket to that shopper. Sockets are capped per address
 * and per tenant (4429), one that does not say hello in time is closed (4408), and one
 * that sends more messages than a widget would is told so and closed (4429).
 * See docs/realtime-protocol.md.
 */
export class WidgetHub {
  private readonly wss = createSocketServer(REALTIME_MAX_FRAME_BYTES);
  private readonly clients = new Set<WidgetSession>();
  private readonly limits = new ConnectionLimits();
  private readonly pinger: NodeJS.Timeout;

  constructor(private readonly deps: WidgetHubDeps) {
    this.pinger = setInterval(() => this.clients.forEach((client) => client.ping()), deps.pingMs ?? 30_000);
    this.pinger.unref();
  }

  async handleUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const address = clientAddress(request);
    if (!this.limits.hold(`address:${address}`, this.deps.maxSocketsPerAddress, socket)) {
      return this.refuse(request, socket, head, 'address', address);
    }

    const url = new URL(request.url ?? '/', 'http://localhost');
    const check = await this.deps.keys.verifyPublishableKey(url.searchParams.get('key') ?? undefined);
    const origin = request.headers.origin;
    const refusal = !check.ok
      ? 'This studio is not configured correctly: the publishable key is not valid.'
      : !origin || !(check.tenant.origins.includes(origin) || origin === this.ownOrigin())
        ? `This website (${origin ?? 'unknown origin'}) is not allowed to use this studio.`
        : undefined;
    if (check.ok && !refusal && !this.limits.hold(`tenant:${check.tenant._id}`, this.deps.maxSocketsPerTenant, socket)) {
      return this.refuse(request, socket, head, 'tenant', check.tenant._id);
    }

    this.wss.handleUpgrade(request, socket, head, (ws) => {
      guardSocket(ws, log, { address });
      if (refusal || !check.ok) {
        // Closing with a code (rather than failing the HTTP handshake) lets the widget
        // tell "refused" from "unreachable" and stop retrying.
        log.warn({ origin, reason: check.ok ? 'origin' : check.reason }, 'widget socket refused');
        send(ws, { type: 'error', code: 'unauthorized', message: refusal ?? 'unauthorized' });
        ws.close(REALTIME_CLOSE.unauthorized, 'unauthorized');
        return;
      }
      const tenantId = check.tenant._id;
      limitMessageRate(ws, this.deps.messageBudget ?? WIDGET_MESSAGE_BUDGET, (retryAfter) => {
        log.warn({ address, tenantId }, 'widget socket over its message budget; closed');
        send(ws, {
          type: 'error',
          code: 'rate_limited',
          message: 'Too many messages on this connection; reconnect shortly.',
          retryAfter,
        });
        ws.close(REALTIME_CLOSE.tooManyConnections, 'too many messages');
      });
      const shopperToken = url.searchParams.get('session') ?? undefined;
      const client = new WidgetSession(ws, check.tenant, this.deps, { address, shopperToken }, () => this.clients.delete(client));
      this.clients.add(client);
    });
  }

  private ownOrigin(): string | undefined {
    try {
      return this.deps.publicUrl ? new URL(this.deps.publicUrl()).origin : undefined;
    } catch {
      return undefined;
    }
  }

  close(): Promise<void> {
    clearInterval(this.pinger);
    for (const client of this.clients) client.close(REALTIME_CLOSE.goingAway, 'server shutting down');
    this.wss.close();
    return Promise.resolve();
  }

  /** Too many sockets: the handshake completes only to say so with 4429, as a refusal would. */
  private refuse(request: IncomingMessage, socket: Duplex, head: Buffer, limit: 'address' | 'tenant', key: string): void {
    log.warn({ limit, key }, 'widget socket over the connection limit');
    this.wss.handleUpgrade(request, socket, head, (ws) => {
      guardSocket(ws, log, { limit });
      send(ws, {
        type: 'error',
        code: 'rate_limited',
        message: `Too many open studio connections ${limit === 'address' ? 'from this address' : 'for this shop'}; try again shortly.`,
        retryAfter: 5,
      });
      ws.close(REALTIME_CLOSE.tooManyConnections, 'too many connections');
    });
  }
}

function send(ws: WebSocket, message: ServerMessage): void {
  ws.send(JSON.stringify(message));
}
