import type { Page, WebSocketRoute } from '@playwright/test';
import type { ClientMessage, ServerMessage } from '@atelier/protocol';

/** What the tap does with one message on the first connection. */
export type Verdict =
  /** Pass it on. */
  | 'forward'
  /** Pass it on, then cut the connection (both sides, no more messages either way). */
  | 'forward-then-cut'
  /** Never deliver it, and cut the connection. */
  | 'cut'
  /** Never deliver it; the connection stays. */
  | 'swallow';

export interface TapRules {
  /** A page → server message on the first connection. */
  fromPage?(message: ClientMessage): Verdict;
  /** A server → page message on the first connection. */
  fromServer?(message: ServerMessage): Verdict;
}

export interface Connection {
  /** Page → server, as the server got them. */
  readonly sent: ClientMessage[];
  /** Server → page, as the page got them. */
  readonly delivered: ServerMessage[];
  cut(): Promise<void>;
}

interface PageWindow {
  /** Server messages in the order the widget finished handling them, per socket (1-based). */
  __handled: { socket: number; message: ServerMessage }[];
  /** The widget's `atelier-start` and `atelier-complete` events, in order. */
  __fired: { type: string; jobId: string }[];
}

/**
 * Sits between the widget and the real server on the realtime socket (Playwright's
 * WebSocket routing), so a test can cut the connection or lose a message at an exact
 * point of a real generation. Only the first connection follows the rules; every later
 * one (the widget reconnecting) passes everything through.
 *
 * It also records, in the page, each server message once the widget has handled it
 * (a listener that defers past the widget's own), so a test can wait until the widget
 * has seen a given message, and the widget's start and complete events.
 */
export class RealtimeTap {
  readonly connections: Connection[] = [];

  private constructor(private readonly page: Page) {}

  static async install(page: Page, rules: TapRules): Promise<RealtimeTap> {
    const tap = new RealtimeTap(page);
    await page.routeWebSocket(/\/v1\/realtime/, (route) => tap.connect(route, tap.connections.length === 0 ? rules : {}));
    // Added after the route, so it wraps the WebSocket the page sees (the routed one).
    await page.addInitScript(() => {
      const seen = window as unknown as PageWindow;
      seen.__handled = [];
      seen.__fired = [];
      for (const type of ['atelier-start', 'atelier-complete']) {
        document.addEventListener(type, (event) =>
          seen.__fired.push({ type, jobId: (event as CustomEvent<{ jobId: string }>).detail.jobId }),
        );
      }
      let sockets = 0;
      const Routed = window.WebSocket;
      window.WebSocket = class extends Routed {
        constructor(...args: ConstructorParameters<typeof WebSocket>) {
          super(...args);
          const socket = (sockets += 1);
          // Registered before the widget's handler; the timer fires after it has run.
          this.addEventListener('message', (event) => {
            const message = JSON.parse(String(event.data)) as ServerMessage;
            setTimeout(() => seen.__handled.push({ socket, message }), 0);
          });
        }
      };
    });
    return tap;
  }

  /** Server messages the widget has handled (socket numbers count from 1). */
  handled(): Promise<{ socket: number; message: ServerMessage }[]> {
    return this.page.evaluate(() => (window as unknown as PageWindow).__handled);
  }

  /** Job ids of every `atelier-start` or `atelier-complete` the widget fired, in order. */
  async fired(type: 'atelier-start' | 'atelier-complete'): Promise<string[]> {
    const fired = await this.page.evaluate(() => (window as unknown as PageWindow).__fired);
    return fired.filter((event) => event.type === type).map((event) => event.jobId);
  }

  private connect(route: WebSocketRoute, rules: TapRules): void {
    const server = route.connectToServer();
    let open = true;
    const cut = async () => {
      if (!open) return;
      open = false;
      await Promise.all([server.close(), route.close()]);
    };
    const connection: Connection = { sent: [], delivered: [], cut };
    this.connections.push(connection);

    const handle = <M>(raw: string | Buffer, verdictOf: ((message: M) => Verdict) | undefined, deliver: (message: M) => void) => {
      if (!open) return;
      const message = JSON.parse(String(raw)) as M;
      const verdict = verdictOf?.(message) ?? 'forward';
      if (verdict === 'forward' || verdict === 'forward-then-cut') deliver(message);
      if (verdict === 'forward-then-cut' || verdict === 'cut') void cut();
    };
    route.onMessage((raw) =>
      handle<ClientMessage>(raw, rules.fromPage?.bind(rules), (message) => {
        connection.sent.push(message);
        server.send(JSON.stringify(message));
      }),
    );
    server.onMessage((raw) =>
      handle<ServerMessage>(raw, rules.fromServer?.bind(rules), (message) => {
        connection.delivered.push(message);
        route.send(JSON.stringify(message));
      }),
    );
    // Either side closing closes the other, as without the tap.
    route.onClose(() => void cut());
    server.onClose(() => void cut());
  }
}
