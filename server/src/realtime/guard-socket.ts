import type { WebSocket, WebSocketServer } from 'ws';
import type { Logger } from '../logging/logger.js';

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

/** How long a shutdown waits for peers to answer its close frames before dropping them. */
export const SHUTDOWN_GRACE_MS = 2_000;

/** A token bucket: `burst` messages at once, refilled at `perSecond`. */
export interface MessageBudget {
  burst: number;
  perSecond: number;
}

/**
 * Calls `onExceeded` (once) with the seconds until the budget would allow a message
 * again, when the peer sends more than `budget` allows. Registered before the session's
 * own listener, so the session sees the socket closing and reads no further message.
 */
export function limitMessageRate(ws: WebSocket, budget: MessageBudget, onExceeded: (retryAfter: number) => void): void {
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

/**
 * Waits up to `graceMs` for every socket of `wss` to finish its closing handshake, then
 * drops those still open, and closes `wss`. A peer that never answers the server's
 * close frame (a refused socket, one closed for shutdown) would otherwise hold the
 * server's shutdown for ws's 30 s close timeout, past many supervisors' patience.
 */
export async function endSockets(wss: WebSocketServer, graceMs: number): Promise<void> {
  const open = [...wss.clients].filter((ws) => ws.readyState !== ws.CLOSED);
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    Promise.all(open.map((ws) => new Promise((resolve) => ws.once('close', resolve)))),
    new Promise((resolve) => (timer = setTimeout(resolve, graceMs))),
  ]);
  clearTimeout(timer);
  for (const ws of wss.clients) ws.terminate();
  wss.close();
}
