import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
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
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\n` +
      'Connection: close\r\nContent-Type: application/problem+json\r\n' +
      `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}
