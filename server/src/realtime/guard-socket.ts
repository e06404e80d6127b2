import type { WebSocket } from 'ws';
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
