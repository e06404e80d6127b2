import { EventEmitter } from 'node:events';
import type { ServerResponse } from 'node:http';
import type { RawData } from 'ws';
import { newId } from '../services/ids.js';

/**
 * What a widget session needs of its connection: the slice of `ws`'s WebSocket it uses,
 * so that the same session runs over a WebSocket or over the HTTP fallback below.
 */
export interface ShopperSocket {
  readonly readyState: number;
  readonly OPEN: number;
  send(data: string): void;
  close(code: number, reason: string): void;
  ping(): void;
  terminate(): void;
  on(event: 'message', listener: (data: RawData, isBinary: boolean) => void): this;
  on(event: 'pong', listener: () => void): this;
  once(event: 'close', listener: () => void): this;
}

const CONNECTING = 0;
const OPEN = 1;
const CLOSED = 3;

/**
 * The realtime protocol over plain HTTP, for networks whose proxies block WebSockets:
 * the server's messages go down one Server-Sent Events response (`data:` lines, one
 * message each), the client's come up as POSTs naming this connection's id (a random
 * capability only this stream told the client). The same messages, the same session,
 * the same limits; a close is an SSE `close` event with the code and reason, then the
 * end of the response.
 */
export class StreamSocket extends EventEmitter implements ShopperSocket {
  readonly OPEN = OPEN;
  readonly id = newId('str');
  private state = CONNECTING;

  constructor(
    private readonly response: ServerResponse,
    /** The page's origin, which every POST on this connection must come from too. */
    readonly origin: string,
  ) {
    super();
    response.on('close', () => this.gone());
  }

  get readyState(): number {
    return this.state;
  }

  /** Starts the stream: headers, then the `ready` event with this connection's id. */
  start(): void {
    this.response.writeHead(200, {
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-store',
      // Proxies that buffer responses (nginx) would hold every message back.
      'X-Accel-Buffering': 'no',
      'Access-Control-Allow-Origin': this.origin,
      Vary: 'Origin',
    });
    this.state = OPEN;
    this.write(`event: ready\ndata: ${JSON.stringify({ connection: this.id })}\n\n`);
  }

  /** A message the client POSTed; an empty POST is its answer to a `ping` event. */
  receive(body: Buffer): void {
    if (this.state !== OPEN) return;
    if (body.length === 0) this.emit('pong');
    else this.emit('message', body, false);
  }

  send(data: string): void {
    // JSON.stringify never writes a raw line break, so one `data:` line holds one message.
    if (this.state === OPEN) this.write(`data: ${data}\n\n`);
  }

  close(code: number, reason: string): void {
    if (this.state === CLOSED) return;
    if (this.state === CONNECTING) this.start();
    this.write(`event: close\ndata: ${JSON.stringify({ code, reason })}\n\n`);
    this.response.end();
    this.gone();
  }

  /**
   * A `ping` event, which the page answers with an empty POST (the WebSocket's pong): a
   * page that vanished without closing (a half-open connection) misses it and is dropped
   * as a silent socket is, long before TCP would notice. It also keeps proxies from timing
   * the quiet stream out.
   */
  ping(): void {
    // With data: EventSource dispatches no event whose data is empty.
    if (this.state === OPEN) this.write('event: ping\ndata: {}\n\n');
  }

  terminate(): void {
    this.response.destroy();
    this.gone();
  }

  private write(chunk: string): boolean {
    if (this.response.destroyed || this.response.writableEnded) return false;
    this.response.write(chunk);
    return true;
  }

  private gone(): void {
    if (this.state === CLOSED) return;
    this.state = CLOSED;
    this.emit('close');
  }
}
