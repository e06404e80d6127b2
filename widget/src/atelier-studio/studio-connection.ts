import type { ServerMessage } from '@atelier/protocol';
import type { ReactiveController, ReactiveControllerHost } from 'lit';
import { type ConnectionState, RealtimeClient } from '../realtime/realtime-client.js';

export interface Endpoint {
  server: string;
  publishableKey: string;
  /** The `session-token` attribute: a shopper session, or '' for an anonymous shopper. */
  shopper: string;
}

/**
 * An anonymous shopper's browser id, kept in localStorage so that it survives reloads
 * (the server limits anonymous shoppers per address and per this id; it grants nothing).
 * Storage may be off or throw (private modes, sandboxed frames): then there is none.
 */
function browserId(): string | undefined {
  try {
    return (localStorage['atelier-browser'] ||= crypto.randomUUID()) as string;
  } catch {
    return undefined;
  }
}

export interface StudioConnectionOptions {
  endpoint(): Endpoint;
  onState(state: ConnectionState): void;
  onMessage(message: ServerMessage): void;
}

/**
 * Owns the element's realtime client: opens it lazily, keeps it for the element's
 * life, and ticks a clock while a retry countdown is on screen.
 *
 * The socket opens once the widget is near the viewport or takes focus, so a
 * product page whose shopper never scrolls to the studio costs the server nothing.
 */
export class StudioConnection implements ReactiveController {
  state: ConnectionState = { status: 'idle' };
  /** Clock for the "retrying in N s" countdown; ticks only while one is shown. */
  now = Date.now();

  private readonly host: ReactiveControllerHost & HTMLElement;
  private readonly options: StudioConnectionOptions;
  private client: RealtimeClient | null = null;
  private unsubscribers: (() => void)[] = [];
  private wanted = false;
  private visibility: IntersectionObserver | null = null;
  private ticker: ReturnType<typeof setInterval> | undefined;

  constructor(host: ReactiveControllerHost & HTMLElement, options: StudioConnectionOptions) {
    this.host = host;
    this.options = options;
    host.addController(this);
  }

  hostConnected(): void {
    window.addEventListener('online', this.handleOnline);
    this.host.addEventListener('focusin', this.handleFocusIn);
    if (this.wanted || typeof IntersectionObserver === 'undefined') {
      this.start();
    } else {
      this.visibility = new IntersectionObserver(this.handleVisibility, { rootMargin: '200px' });
      this.visibility.observe(this.host);
    }
  }

  hostDisconnected(): void {
    window.removeEventListener('online', this.handleOnline);
    this.host.removeEventListener('focusin', this.handleFocusIn);
    this.stopWatching();
    // The client (and its session) is kept: re-attached, the widget resumes.
    this.client?.close();
  }

  /** Connects now (a shopper is about to use the widget) unless there is no key yet. */
  start(): void {
    this.wanted = true;
    this.stopWatching();
    if (this.options.endpoint().publishableKey) this.ensureClient().connect();
  }

  /** The client, created on first use; requests made before the welcome wait in its outbox. */
  ensureClient(): RealtimeClient {
    if (!this.client) {
      const { server, publishableKey, shopper } = this.options.endpoint();
      const client = new RealtimeClient({ server, publishableKey, ...(shopper ? { shopper } : { browser: browserId() }) });
      this.unsubscribers = [client.on('state', this.handleState), client.on('message', this.options.onMessage)];
      this.client = client;
    }
    return this.client;
  }

  /** The endpoint changed: a different server, key or shopper is a different studio. */
  reset(): void {
    if (!this.client) return;
    for (const unsubscribe of this.unsubscribers) unsubscribe();
    this.unsubscribers = [];
    this.client.close();
    this.client = null;
    this.setTicker(false);
    this.state = { status: 'idle' };
    if (this.wanted && this.host.isConnected) this.start();
  }

  private stopWatching(): void {
    this.visibility?.disconnect();
    this.visibility = null;
  }

  private setTicker(on: boolean): void {
    clearInterval(this.ticker);
    this.ticker = on
      ? setInterval(() => {
          this.now = Date.now();
          this.host.requestUpdate();
        }, 1000)
      : undefined;
  }

  private readonly handleState = (state: ConnectionState): void => {
    this.state = state;
    this.now = Date.now();
    this.setTicker(state.status === 'reconnecting');
    this.host.requestUpdate();
    this.options.onState(state);
  };

  private readonly handleVisibility = (entries: IntersectionObserverEntry[]): void => {
    if (entries.some((entry) => entry.isIntersecting)) this.start();
  };

  private readonly handleFocusIn = (): void => {
    if (!this.wanted) this.start();
  };

  private readonly handleOnline = (): void => this.client?.retryNow();
}
