import { REALTIME_PATH, REALTIME_STREAM_PATH } from '@atelier/protocol';
import type { WebSocketLike } from './realtime-client.js';

/** The close code a WebSocket reports when a connection ends without a close frame. */
const ABNORMAL = 1006;

/**
 * The realtime protocol over HTTP, shaped as a WebSocket for RealtimeClient: for
 * networks whose proxies block WebSockets. Server messages arrive on a Server-Sent
 * Events stream (`ready` names the stream, `close` carries a close code and reason,
 * `ping` wants an empty POST back); client messages are POSTed to the stream one at a time, in order. The socket URL it is
 * given (`ws(s)://…/v1/realtime?key=…`) becomes the stream's `http(s)://…/v1/realtime/stream?key=…`.
 */
export class HttpStreamSocket implements WebSocketLike {
  onopen: ((event: never) => void) | null = null;
  onmessage: ((event: never) => void) | null = null;
  onclose: ((event: never) => void) | null = null;
  onerror: ((event: never) => void) | null = null;

  private readonly source: EventSource;
  private postUrl: string | undefined;
  /** Messages go up one after the other: the server must read hello before generate. */
  private sending: Promise<unknown> = Promise.resolve();
  private closed = false;

  constructor(socketUrl: string) {
    const url = new URL(socketUrl);
    url.protocol = url.protocol === 'wss:' ? 'https:' : 'http:';
    url.pathname = url.pathname.replace(new RegExp(`${REALTIME_PATH}$`), REALTIME_STREAM_PATH);
    const source = new EventSource(url);
    this.source = source;
    source.addEventListener('ready', (event) => {
      const { connection } = JSON.parse((event as MessageEvent<string>).data) as { connection: string };
      const post = new URL(`${url.pathname}/${encodeURIComponent(connection)}`, url);
      this.postUrl = post.href;
      (this.onopen as ((event: object) => void) | null)?.({});
    });
    source.onmessage = (event: MessageEvent<string>) =>
      (this.onmessage as ((event: { data: string }) => void) | null)?.({ data: event.data });
    // The server's keep-alive: an empty POST answers it, as a WebSocket answers a ping.
    source.addEventListener('ping', () => this.send(''));
    source.addEventListener('close', (event) => {
      const { code, reason } = JSON.parse((event as MessageEvent<string>).data) as { code: number; reason: string };
      this.finish(code, reason);
    });
    // EventSource would reconnect by itself; the client decides when and how instead.
    source.onerror = () => this.finish(ABNORMAL, '');
  }

  send(data: string): void {
    const target = this.postUrl;
    if (!target || this.closed) return;
    this.sending = this.sending
      .then(() => fetch(target, { method: 'POST', body: data, headers: { 'Content-Type': 'text/plain' } }))
      .then(
        (response) => response.ok || this.finish(ABNORMAL, ''),
        () => this.finish(ABNORMAL, ''),
      );
  }

  close(code = 1000, reason = ''): void {
    this.finish(code, reason);
  }

  private finish(code: number, reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.source.close();
    (this.onclose as ((event: { code: number; reason: string }) => void) | null)?.({ code, reason });
  }
}
