/**
 * A real WebSocket server on a real port, scripted per test: it stands in for the
 * network under the realtime client's own unit tests (the real server is exercised
 * end to end by the demo's Playwright suite). Test-only; not part of the build.
 */
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ClientMessage, ServerMessage, WidgetConfig } from '@atelier/protocol';
import { type WebSocket, WebSocketServer } from 'ws';

export const TEST_CONFIG: WidgetConfig = {
  tenantName: 'Test tenant',
  defaultPerformance: 'speed',
  performances: ['speed'],
  aspectRatios: ['1024x1024'],
  defaultAspectRatio: '1024x1024',
  maxPromptLength: 2000,
};

export interface Connection {
  socket: WebSocket;
  url: URL;
  received: ClientMessage[];
  send(message: ServerMessage): void;
}

type Script = (connection: Connection, message: ClientMessage) => void;

/** Answers `hello` with a welcome for session `sess-1`, resuming it when asked to. */
export const welcomeScript: Script = (connection, message) => {
  if (message.type !== 'hello') return;
  connection.send({ type: 'welcome', session: 'sess-1', resume: message.resume?.session === 'sess-1', config: TEST_CONFIG });
};

export class ScriptedRealtimeServer {
  readonly connections: Connection[] = [];
  script: Script = welcomeScript;
  /** Runs when a socket opens, before any message (to refuse it, say). */
  onConnection: ((connection: Connection) => void) | null = null;
  private http: Server | null = null;
  private wss: WebSocketServer | null = null;
  private listeners = new Set<() => void>();

  constructor(public port = 0) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(): Promise<this> {
    const http = createServer((_req, res) => res.writeHead(404).end());
    const wss = new WebSocketServer({ server: http, path: '/v1/realtime' });
    wss.on('connection', (socket, request) => {
      const connection: Connection = {
        socket,
        url: new URL(request.url ?? '/', this.url),
        received: [],
        send: (message) => socket.send(JSON.stringify(message)),
      };
      this.connections.push(connection);
      socket.on('message', (data) => {
        const message = JSON.parse(String(data)) as ClientMessage;
        connection.received.push(message);
        this.script(connection, message);
        this.changed();
      });
      this.onConnection?.(connection);
      this.changed();
    });
    await new Promise<void>((resolve) => http.listen(this.port, '127.0.0.1', resolve));
    this.port = (http.address() as AddressInfo).port;
    this.http = http;
    this.wss = wss;
    return this;
  }

  /** Goes away like a crashed server: sockets cut, port closed. */
  async stop(): Promise<void> {
    for (const client of this.wss?.clients ?? []) client.terminate();
    await new Promise<void>((resolve) => (this.wss ? this.wss.close(() => resolve()) : resolve()));
    this.http?.closeAllConnections();
    await new Promise<void>((resolve) => (this.http ? this.http.close(() => resolve()) : resolve()));
    this.http = null;
    this.wss = null;
  }

  /** Resolves once `check` holds, re-checked whenever a socket opens or a message lands. */
  async until<T>(check: () => T | undefined | false, timeoutMs = 5000): Promise<T> {
    const now = check();
    if (now) return now;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.listeners.delete(listener);
        reject(new Error('scripted server: condition not met in time'));
      }, timeoutMs);
      const listener = () => {
        const value = check();
        if (!value) return;
        clearTimeout(timer);
        this.listeners.delete(listener);
        resolve(value);
      };
      this.listeners.add(listener);
    });
  }

  private changed(): void {
    for (const listener of [...this.listeners]) listener();
  }
}
