import {
  type BackoffOptions,
  type ClientMessage,
  type GenerateMessage,
  type GenerationParams,
  type HelloMessage,
  RECONNECT_BACKOFF,
  REALTIME_CLOSE,
  REALTIME_PROTOCOL_VERSION,
  type ServerMessage,
  type WelcomeMessage,
  type WidgetConfig,
  backoffDelay,
} from '@atelier/protocol';
import { HttpStreamSocket } from './http-stream-socket.js';
import { type RealtimeUrlOptions, realtimeUrl } from './server-url.js';

/** Where the client's socket stands; the widget turns this into status text. */
export type ConnectionState =
  | { status: 'idle' }
  /** `attempt` is 0 for the first try and counts failures since the last welcome. */
  | { status: 'connecting'; attempt: number }
  /** Connected and welcomed: `session` and `config` are known. */
  | { status: 'open' }
  /** Waiting `delayMs` (until `retryAt`, epoch ms) before attempt `attempt`. */
  | { status: 'reconnecting'; attempt: number; delayMs: number; retryAt: number; closeCode: number }
  /**
   * The server refused the key or the page's origin; retrying cannot help.
   * `reason` is the server's own explanation when it sent one.
   */
  | { status: 'refused'; code: number; reason: string }
  /** No URL can be built from the options (bad `server`), or no WebSocket exists. */
  | { status: 'invalid'; reason: string }
  | { status: 'closed' };

/**
 * The slice of WebSocket the client uses. Handlers take `never` so that both the
 * DOM's WebSocket and the `ws` package's (node tests) fit; the client reads only
 * `data` from messages and `code`/`reason` from closes.
 */
export interface WebSocketLike {
  onopen: ((event: never) => void) | null;
  onmessage: ((event: never) => void) | null;
  onclose: ((event: never) => void) | null;
  onerror: ((event: never) => void) | null;
  send(data: string): void;
  close(code?: number, reason?: string): void;
}

export type WebSocketConstructor = new (url: string) => WebSocketLike;

type ServerMessageMap = { [M in ServerMessage as M['type']]: M };

/** What `on()` can listen to: every server message type, plus `state` and `message`. */
export type RealtimeEventMap = ServerMessageMap & {
  state: ConnectionState;
  /** Every server message, after duplicates from a resume replay are dropped. */
  message: ServerMessage;
};

export interface RealtimeClientOptions extends RealtimeUrlOptions {
  /** A shopper session from the tenant's backend (`POST /v1/sessions`), sent in `hello.shopper`. */
  shopper?: string | undefined;
  /** Without a shopper session: this browser's own id (unverified), sent in `hello.browser`. */
  browser?: string | undefined;
  /** Defaults to the global WebSocket (the browser's). */
  WebSocket?: WebSocketConstructor | undefined;
  /**
   * The transport used once WebSockets look blocked: FALLBACK_AFTER attempts dropped
   * before any welcome. Defaults to the HTTP stream (Server-Sent Events) where the
   * browser has EventSource; `null` never falls back.
   */
  fallback?: WebSocketConstructor | null | undefined;
  backoff?: BackoffOptions | undefined;
  random?: (() => number) | undefined;
  /** A socket that is open but not welcomed by then is dropped and retried. */
  welcomeTimeoutMs?: number | undefined;
}

type Listener = (payload: never) => void;

/**
 * WebSocket attempts that end before a welcome, with none welcomed yet on this page,
 * before the client switches to the fallback: a proxy that blocks WebSockets fails
 * every one, a server that is merely restarting fails them too, and either way the
 * fallback reaches it as soon as it answers.
 */
export const FALLBACK_AFTER = 2;

/** `T` whose optional fields may also be present as `undefined`. */
type Optional<T> = { [K in keyof T]: T[K] | undefined };

/**
 * Client side of the widget socket: handshake, resume, message dispatch and
 * reconnection. It knows nothing of the DOM so that it can be used (and tested)
 * outside a browser.
 *
 * No request is lost to a dropped socket: a `generate` is sent again after every
 * welcome until it is answered (the server treats a repeated ref as the same request),
 * and the jobs being followed are watched again when the server could not resume the
 * session, proving the earlier session with its token.
 */
export class RealtimeClient {
  /** Opaque resume token of the socket session, from the last `welcome`; sent back to resume. */
  session: string | null = null;
  config: WidgetConfig | null = null;
  /** The highest job-event `seq` seen in the current session. */
  lastSeq = 0;

  private readonly options: RealtimeClientOptions;
  private currentState: ConnectionState = { status: 'idle' };
  private socket: WebSocketLike | null = null;
  private running = false;
  /** Failed attempts since the last welcome; drives the backoff. */
  private failures = 0;
  /** WebSocket, or the fallback once WebSockets look blocked (for the rest of the client's life). */
  private usingFallback = false;
  private everWelcomed = false;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private welcomeTimer: ReturnType<typeof setTimeout> | undefined;
  /** Messages asked for while not welcomed; sent, once, after the next welcome. */
  private outbox: ClientMessage[] = [];
  /** `generate`s sent but not yet answered by `accepted` or an `error` with their ref. */
  private readonly unanswered = new Map<string, GenerateMessage>();
  /** Jobs accepted or watched and not yet finished: followed again after a reconnect. */
  private readonly following = new Set<string>();
  /** Watches sent with a ref, by ref: a refused one is no longer followed. */
  private readonly watches = new Map<string, string>();
  /** The proof a watched job was asked for with (an older session's token), to ask again with. */
  private readonly proofs = new Map<string, string>();
  private readonly listeners = new Map<keyof RealtimeEventMap, Set<Listener>>();
  private readonly refPrefix = Math.random().toString(36).slice(2, 12);
  private refCounter = 0;
  /** The server's words from an `unauthorized` error that precedes a 4401 close. */
  private refusal: string | null = null;

  constructor(options: RealtimeClientOptions) {
    this.options = options;
  }

  get state(): ConnectionState {
    return this.currentState;
  }

  /** Starts connecting (and reconnecting, forever) until `close()` or a refusal. */
  connect(): void {
    if (this.running) return;
    this.running = true;
    this.refusal = null;
    this.failures = 0;
    this.open();
  }

  /** Stops for good until the next `connect()`; the session is kept for a resume. */
  close(): void {
    this.running = false;
    this.clearTimers();
    const socket = this.socket;
    this.socket = null;
    socket?.close(1000);
    this.setState({ status: 'closed' });
  }

  /** Skips the rest of the backoff delay (the page came back online, say). */
  retryNow(): void {
    if (this.running && this.currentState.status === 'reconnecting') {
      this.clearTimers();
      this.open();
    }
  }

  /** Asks for a generation; returns the `ref` that every event about its job will carry. */
  generate(params: GenerationParams, ref: string = this.nextRef()): string {
    const message: GenerateMessage = { type: 'generate', ref, params };
    this.unanswered.set(ref, message);
    this.send(message);
    return ref;
  }

  cancel(id: string): void {
    this.send({ type: 'cancel', id });
  }

  /**
   * Follows a job's events (one this session, or a resumed one, started); `session`, the
   * token of the earlier session that started it, proves it is this browser's. Returns
   * the ref an `error` refusing the watch will carry.
   */
  watch(id: string, session?: string): string {
    const ref = this.nextRef();
    this.following.add(id);
    this.watches.set(ref, id);
    if (session) this.proofs.set(id, session);
    this.send(session ? { type: 'watch', id, session, ref } : { type: 'watch', id, ref });
    return ref;
  }

  on<K extends keyof RealtimeEventMap>(type: K, listener: (payload: RealtimeEventMap[K]) => void): () => void {
    let set = this.listeners.get(type);
    if (!set) this.listeners.set(type, (set = new Set()));
    set.add(listener);
    return () => set.delete(listener);
  }

  /** `websocket`, or `http` once the client fell back to the HTTP stream. */
  get transport(): 'websocket' | 'http' {
    return this.usingFallback ? 'http' : 'websocket';
  }

  private fallbackTransport(): WebSocketConstructor | undefined {
    if (this.options.fallback !== undefined) return this.options.fallback ?? undefined;
    return typeof EventSource === 'function' ? HttpStreamSocket : undefined;
  }

  private open(): void {
    const socketCtor = this.options.WebSocket ?? globalThis.WebSocket;
    if (!socketCtor && this.fallbackTransport()) this.usingFallback = true;
    const Ctor = this.usingFallback ? this.fallbackTransport() : socketCtor;
    let url: string;
    try {
      url = realtimeUrl(this.options);
    } catch {
      this.stop({ status: 'invalid', reason: `not a URL: ${this.options.server}` });
      return;
    }
    if (!Ctor) {
      this.stop({ status: 'invalid', reason: 'no WebSocket implementation' });
      return;
    }
    this.setState({ status: 'connecting', attempt: this.failures });
    let socket: WebSocketLike;
    try {
      socket = new Ctor(url);
    } catch {
      // Only a malformed URL makes the constructor throw; retrying would not fix it.
      this.stop({ status: 'invalid', reason: `not a WebSocket URL: ${url}` });
      return;
    }
    this.socket = socket;
    socket.onopen = () => {
      if (socket !== this.socket) return;
      const { shopper, browser } = this.options;
      const resume = this.session ? { session: this.session, lastSeq: this.lastSeq } : undefined;
      // JSON leaves out what is undefined.
      const hello: Optional<HelloMessage> = { type: 'hello', v: REALTIME_PROTOCOL_VERSION, resume, shopper, browser };
      socket.send(JSON.stringify(hello));
    };
    socket.onmessage = (event: { data: unknown }) => {
      if (socket === this.socket) this.receive(event.data);
    };
    socket.onclose = (event: { code: number; reason: string }) => {
      if (socket === this.socket) this.dropped(event.code, event.reason);
    };
    // An error is always followed by a close, which is where recovery happens.
    socket.onerror = () => undefined;
    this.welcomeTimer = setTimeout(() => {
      if (socket !== this.socket) return;
      this.socket = null;
      socket.close();
      this.dropped(1006, 'no welcome');
    }, this.options.welcomeTimeoutMs ?? 15_000);
  }

  private receive(data: unknown): void {
    if (typeof data !== 'string') return;
    let message: ServerMessage;
    try {
      message = JSON.parse(data) as ServerMessage;
    } catch {
      return;
    }
    if (typeof message !== 'object' || message === null || typeof message.type !== 'string') return;
    if (message.type === 'welcome') {
      this.welcomed(message);
      return;
    }
    if (message.type === 'error' && message.code === 'unauthorized') {
      // The refusal's explanation, at the handshake or later (a key revoked, a shopper
      // session expired); the 4401 close that follows reports it once, as the `refused`
      // state, rather than as a stray error and then a refusal.
      this.refusal = message.message;
      return;
    }
    if ('seq' in message && typeof message.seq === 'number') {
      // A resumed session continues after lastSeq; anything at or below it was handled.
      if (message.seq <= this.lastSeq) return;
      this.lastSeq = message.seq;
    }
    this.track(message);
    this.dispatch(message);
  }

  private track(message: ServerMessage): void {
    if (message.type === 'welcome') return;
    // Whatever names a request's ref answers it: its job exists, or never will. (An
    // `accepted` lost with a socket may be followed by the job's events.)
    if (message.ref) this.unanswered.delete(message.ref);
    if (message.type === 'error') {
      // A refused watch (its ref on the error) is not followed either.
      this.following.delete(this.watches.get(message.ref ?? '') ?? '');
      this.watches.delete(message.ref ?? '');
    } else if (message.type === 'completed' || message.type === 'failed') this.following.delete(message.id);
    else this.following.add(message.id);
  }

  private welcomed(message: WelcomeMessage): void {
    clearTimeout(this.welcomeTimer);
    const earlier = this.session;
    // A session the server did not resume numbers its events from scratch. (A
    // resumed one may still come with a fresh token: the token is opaque.)
    if (!message.resume) this.lastSeq = 0;
    this.session = message.session;
    this.config = message.config;
    this.failures = 0;
    this.everWelcomed = true;
    this.setState({ status: 'open' });
    this.dispatch(message);
    const pending = this.outbox;
    this.outbox = [];
    for (const queued of pending) this.send(queued);
    // A resumed session's jobs come back as snapshots; a fresh session follows them
    // again only with proof of the earlier one.
    if (!message.resume && earlier) {
      for (const id of this.following) this.send({ type: 'watch', id, session: this.proofs.get(id) ?? earlier });
    }
    // Sent but never answered: the request or its answer may have been lost with the
    // socket. Sending it again is safe, the server answers a repeated ref once.
    for (const request of this.unanswered.values()) {
      if (!pending.includes(request)) this.send(request);
    }
  }

  private dropped(code: number, reason: string): void {
    this.socket = null;
    this.clearTimers();
    if (code === REALTIME_CLOSE.unauthorized) {
      this.stop({ status: 'refused', code, reason: this.refusal ?? reason });
      return;
    }
    if (!this.running) return;
    this.failures += 1;
    if (!this.everWelcomed && !this.usingFallback && this.failures >= FALLBACK_AFTER && this.fallbackTransport()) {
      this.usingFallback = true;
    }
    const delayMs = backoffDelay(this.failures, this.options.backoff ?? RECONNECT_BACKOFF, this.options.random);
    this.setState({ status: 'reconnecting', attempt: this.failures, delayMs, retryAt: Date.now() + delayMs, closeCode: code });
    this.retryTimer = setTimeout(() => this.open(), delayMs);
  }

  private stop(state: ConnectionState): void {
    this.running = false;
    this.outbox = [];
    this.unanswered.clear();
    this.clearTimers();
    this.setState(state);
  }

  private send(message: ClientMessage): void {
    if (this.socket && this.currentState.status === 'open') this.socket.send(JSON.stringify(message));
    else this.outbox.push(message);
  }

  private setState(state: ConnectionState): void {
    this.currentState = state;
    this.emit('state', state);
  }

  private dispatch(message: ServerMessage): void {
    this.emit('message', message);
    this.emit(message.type, message);
  }

  private emit<K extends keyof RealtimeEventMap>(type: K, payload: RealtimeEventMap[K]): void {
    for (const listener of [...(this.listeners.get(type) ?? [])]) {
      try {
        (listener as (payload: RealtimeEventMap[K]) => void)(payload);
      } catch (error) {
        // One faulty listener must not stop the others or the socket loop; the
        // error still surfaces as an uncaught exception, as EventTarget does it.
        queueMicrotask(() => {
          throw error;
        });
      }
    }
  }

  private clearTimers(): void {
    clearTimeout(this.retryTimer);
    clearTimeout(this.welcomeTimer);
  }

  /** Unique within the session: the server deduplicates `generate` by (session, ref). */
  private nextRef(): string {
    this.refCounter += 1;
    return `${this.refPrefix}-${this.refCounter}`;
  }
}
