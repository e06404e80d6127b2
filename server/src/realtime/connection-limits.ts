import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';

/**
 * Counts open connections per key (an address, a tenant, a runner token) and refuses
 * one more than the cap. A slot is held by the connection itself and given back when
 * it closes, whatever closed it: a socket that ended, a handshake `ws` refused, or a
 * client that hung up while its key was being checked. (Tying the slot to the
 * WebSocket's 'close' leaked it on every handshake that never became a WebSocket, and
 * a stranger could fill a tenant's cap that way for good.)
 */
export class ConnectionLimits {
  private readonly open = new Map<string, number>();

  /** Takes a slot for `key` until `connection` closes; false (and nothing taken) at the cap. */
  hold(key: string, cap: number, connection: Duplex): boolean {
    const count = this.open.get(key) ?? 0;
    if (count >= cap) return false;
    this.open.set(key, count + 1);
    const release = () => {
      const left = (this.open.get(key) ?? 1) - 1;
      if (left > 0) this.open.set(key, left);
      else this.open.delete(key);
    };
    if (connection.closed) release();
    else connection.once('close', release);
    return true;
  }

  count(key: string): number {
    return this.open.get(key) ?? 0;
  }
}

/**
 * The address a socket came from. Behind a reverse proxy on the same host (the
 * loopback address, as Express's `trust proxy` is set), the proxy's `X-Forwarded-For`
 * names the client; from anywhere else the header is ignored, since anyone can send it.
 */
export function clientAddress(request: IncomingMessage): string {
  const remote = request.socket.remoteAddress ?? 'unknown';
  const loopback = remote === '127.0.0.1' || remote === '::1' || remote === '::ffff:127.0.0.1';
  const forwarded = request.headers['x-forwarded-for'];
  if (!loopback || typeof forwarded !== 'string') return remote;
  const hops = forwarded
    .split(',')
    .map((hop) => hop.trim())
    .filter(Boolean);
  return hops.at(-1) ?? remote;
}
