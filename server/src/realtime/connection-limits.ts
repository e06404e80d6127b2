import type { IncomingMessage } from 'node:http';

/**
 * Counts open sockets per key (an address, a tenant, a runner token) and refuses one
 * more than the cap. `acquire` returns the release function to call once, on close.
 */
export class ConnectionLimits {
  private readonly open = new Map<string, number>();

  acquire(key: string, cap: number): (() => void) | undefined {
    const count = this.open.get(key) ?? 0;
    if (count >= cap) return undefined;
    this.open.set(key, count + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.open.get(key) ?? 1) - 1;
      if (left > 0) this.open.set(key, left);
      else this.open.delete(key);
    };
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
  const hops = forwarded.split(',').map((hop) => hop.trim()).filter(Boolean);
  return hops.at(-1) ?? remote;
}
