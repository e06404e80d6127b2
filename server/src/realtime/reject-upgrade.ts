import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import type { WebSocketServer } from 'ws';
import { CODES, PROBLEM_TYPE_BASE, type Problem, type ProblemCode } from '@atelier/protocol';

/**
 * Refuses a WebSocket upgrade with an HTTP response, `application/problem+json` like
 * every other error of the API; no socket is established.
 */
export function rejectUpgrade(socket: Duplex, code: ProblemCode, detail: string): void {
  const { status, title } = CODES[code];
  const body = JSON.stringify({ type: `${PROBLEM_TYPE_BASE}${code}`, title, status, detail, code } satisfies Problem);
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  // An upgraded socket is no longer the HTTP server's to time out, and it allows half
  // open connections: without the destroy, a client that never closes its side would
  // keep the connection (and its slot) forever. As `ws` does, destroy once the answer
  // is flushed.
  socket.once('finish', () => socket.destroy());
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\n` +
      'Connection: close\r\nContent-Type: application/problem+json\r\n' +
      `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}

/**
 * `ws` answers a handshake it cannot accept (a bad Sec-WebSocket-Key or version, an
 * Upgrade other than websocket, a method other than GET) in text/html; this makes it
 * problem+json too.
 */
export function refuseMalformedHandshakes(wss: WebSocketServer): void {
  wss.on('wsClientError', (error, socket) =>
    rejectUpgrade(socket, 'invalid_request', `Not a valid WebSocket handshake: ${error.message}.`),
  );
}
