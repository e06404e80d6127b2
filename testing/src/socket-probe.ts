import { vi } from 'vitest';
import WebSocket from 'ws';
import type { z } from 'zod';

export interface CloseInfo {
  code: number;
  reason: string;
}

/** The HTTP answer to an upgrade the server refused before any socket existed. */
export class UpgradeRefused extends Error {
  constructor(
    readonly status: number,
    readonly headers: Record<string, string | string[] | undefined>,
    readonly body: string,
  ) {
    super(`upgrade refused with HTTP ${status}`);
    this.name = 'UpgradeRefused';
  }
}

export interface OpenOptions {
  /** False: the socket never answers the server's pings, like a peer whose machine went away. */
  autoPong?: boolean;
}

export interface ReceiveOptions {
  /** Generous on purpose: the condition is what the test asserts, not the time it took. */
  timeoutMs?: number;
}

/**
 * A raw WebSocket client for tests: it says exactly what the test tells it to (including
 * what a well-behaved client never says) and keeps every JSON message it receives in a
 * mailbox that the test takes messages out of selectively. Given the protocol's schema,
 * it also checks every message the server sends against it.
 */
export class SocketProbe<M extends { type: string }> {
  /** Every JSON message received, in order (never consumed). */
  readonly log: M[] = [];
  /** Messages that did not match the schema, with zod's explanation. */
  readonly violations: string[] = [];
  private readonly mailbox: M[] = [];
  private closeInfo: CloseInfo | undefined;
  private readonly closedPromise: Promise<CloseInfo>;

  private constructor(
    readonly ws: WebSocket,
    schema: z.ZodType<M> | undefined,
  ) {
    ws.on('message', (data, isBinary) => {
      if (isBinary) return;
      const raw = JSON.parse(String(data)) as unknown;
      const checked = schema?.safeParse(raw);
      if (checked && !checked.success) this.violations.push(`${String(data)}: ${checked.error.message}`);
      const message = raw as M;
      this.log.push(message);
      this.mailbox.push(message);
    });
    this.closedPromise = new Promise((resolve) =>
      ws.once('close', (code, reason) => {
        this.closeInfo = { code, reason: reason.toString('utf8') };
        resolve(this.closeInfo);
      }),
    );
  }

  /** Opens a socket; rejects with `UpgradeRefused` when the server answers the upgrade with HTTP. */
  static open<M extends { type: string }>(
    url: string | URL,
    headers: Record<string, string> = {},
    schema?: z.ZodType<M>,
    options: OpenOptions = {},
  ): Promise<SocketProbe<M>> {
    const ws = new WebSocket(url, { headers, autoPong: options.autoPong ?? true });
    const probe = new SocketProbe<M>(ws, schema);
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(probe));
      ws.once('unexpected-response', (request, response) => {
        let body = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (body += chunk));
        response.on('end', () => {
          request.destroy();
          reject(new UpgradeRefused(response.statusCode ?? 0, response.headers, body));
        });
      });
      // A refused or failed handshake also reports an error; the promise has already said why.
      ws.on('error', (error) => reject(error));
    });
  }

  send(message: unknown): void {
    this.ws.send(typeof message === 'string' ? message : JSON.stringify(message));
  }

  sendBinary(frame: Uint8Array): void {
    this.ws.send(frame, { binary: true });
  }

  /** Takes the first message of `type` (matching `where`) out of the mailbox, waiting for it. */
  receive<K extends M['type']>(
    type: K,
    where: (message: Extract<M, { type: K }>) => boolean = () => true,
    options: ReceiveOptions = {},
  ): Promise<Extract<M, { type: K }>> {
    return vi.waitFor(
      () => {
        if (this.violations.length > 0) throw new Error(`the server broke the protocol: ${this.violations.join('\n')}`);
        const index = this.mailbox.findIndex((m) => m.type === type && where(m as Extract<M, { type: K }>));
        if (index === -1) throw new Error(`no "${type}" message yet (socket ${this.isOpen ? 'open' : 'closed'})`);
        return this.mailbox.splice(index, 1)[0] as Extract<M, { type: K }>;
      },
      { timeout: options.timeoutMs ?? 15_000, interval: 10 },
    );
  }

  /** Messages of `type` received so far (consumed or not). */
  received<K extends M['type']>(type: K): Extract<M, { type: K }>[] {
    return this.log.filter((m): m is Extract<M, { type: K }> => m.type === type);
  }

  get isOpen(): boolean {
    return this.ws.readyState === WebSocket.OPEN;
  }

  /** Resolves when the socket has closed; rejects if it is still open after `timeoutMs`. */
  closed(timeoutMs = 15_000): Promise<CloseInfo> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`socket still open after ${timeoutMs} ms`)), timeoutMs);
    });
    return Promise.race([this.closedPromise, timeout]).finally(() => clearTimeout(timer));
  }

  /** Closes politely and waits for the close handshake. */
  async close(code = 1000): Promise<CloseInfo> {
    if (!this.closeInfo && this.ws.readyState !== WebSocket.CLOSED) this.ws.close(code);
    return this.closedPromise;
  }

  /** Drops the TCP connection without a close handshake, as a crashed process would. */
  async kill(): Promise<CloseInfo> {
    this.ws.terminate();
    return this.closedPromise;
  }
}
