import { WebSocketServer, type ServerOptions, type WebSocket } from 'ws';
import type { Logger } from '../logging/logger.js';
import { refuseMalformedHandshakes } from './reject-upgrade.js';
import type { ShopperSocket } from './stream-socket.js';

/** How long the server waits for a peer to answer its close frame before dropping the connection. */
export const CLOSE_GRACE_MS = 2_000;

/**
 * The WebSocket server of a hub: frames over `maxPayload` close the socket (1009), a
 * handshake `ws` cannot accept is answered as problem+json, and a peer that does not
 * answer the server's close frame is dropped after CLOSE_GRACE_MS. (ws waits 30 s by
 * default: a stranger could keep any number of refused sockets open that long, none
 * of them counted against a cap, and hold up every shutdown.)
 */
export function createSocketServer(maxPayload: number): WebSocketServer {
  // `closeTimeout` (ws ≥ 8.23) is not in @types/ws yet.
  const options: ServerOptions & { closeTimeout: number } = { noServer: true, maxPayload, closeTimeout: CLOSE_GRACE_MS };
  const wss = new WebSocketServer(options);
  refuseMalformedHandshakes(wss);
  return wss;
}

/**
 * A socket error (a malformed or oversized frame, invalid UTF-8, a reset) is the peer's
 * problem: `ws` itself closes the socket with the matching code (1002, 1007, 1009), so
 * the error is logged in one line and never reaches the process as an unhandled
 * 'error' event, which would kill it.
 */
export function guardSocket(ws: WebSocket, log: Logger, context: Record<string, unknown> = {}): void {
  ws.on('error', (error: Error & { code?: string }) => {
    log.info({ ...context, code: error.code, reason: error.message }, 'socket error; closed');
  });
}

/** A token bucket: `burst` messages at once, refilled at `perSecond`. */
export interface MessageBudget {
  burst: number;
  perSecond: number;
}

/**
 * Calls `onExceeded` (once), with the seconds a full burst takes to refill, when the
 * peer sends more than `budget` allows. Registered before the session's
 * own listener, so the session sees the socket closing and reads no further message.
 */
export function limitMessageRate(
  ws: Pick<ShopperSocket, 'on'>,
  budget: MessageBudget,
  onExceeded: (retryAfter: number) => void,
): void {
  let tokens = budget.burst;
  let refilledAt = Date.now();
  let exceeded = false;
  ws.on('message', () => {
    if (exceeded) return;
    const now = Date.now();
    tokens = Math.min(budget.burst, tokens + ((now - refilledAt) / 1000) * budget.perSecond);
    refilledAt = now;
    if (tokens >= 1) {
      tokens -= 1;
      return;
    }
    exceeded = true;
    onExceeded(Math.max(1, Math.ceil(budget.burst / budget.perSecond)));
  });
}
