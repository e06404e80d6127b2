import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import { createLogger } from '../logging/logger.js';
import { newId } from '../services/ids.js';
import { rejectUpgrade } from './reject-upgrade.js';
import { RunnerSession, type RunnerHubDeps } from './runner-session.js';

export type { RunnerHubDeps } from './runner-session.js';

const log = createLogger('runner-hub');

/**
 * The runner side of the queue: authenticates runners (`Authorization: Bearer rt_…`),
 * leases them jobs through the dispatcher, and turns their reports into fenced queue
 * transitions. A runner only ever speaks about the one job it holds; anything about
 * another job or an old epoch is answered with `lease-lost` and changes nothing.
 */
export class RunnerHub {
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 * 1024 });
  private readonly sessions = new Map<string, RunnerSession>();
  private readonly pinger: NodeJS.Timeout;

  constructor(private readonly deps: RunnerHubDeps) {
    // A runner says nothing while it waits for work, so the hub pings it: each answer
    // keeps its registry record fresh, and it keeps counting as online (queue estimates,
    // the widget's "waiting for a GPU", /healthz) for as long as it is really there.
    this.pinger = setInterval(() => this.sessions.forEach((session) => session.ping()), deps.heartbeatMs);
    this.pinger.unref();
  }

  async handleUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const header = request.headers.authorization ?? '';
    const token = header.startsWith('Bearer ') ? header.slice('Bearer '.length).trim() : undefined;
    const check = await this.deps.tokens.verify(token);
    if (!check.ok) {
      log.warn({ reason: check.reason }, 'runner refused');
      rejectUpgrade(socket, 401, 'A valid runner token is required.');
      return;
    }
    this.wss.handleUpgrade(request, socket, head, (ws) => {
      const session = new RunnerSession(newId('run'), check.tokenId, ws, this.deps, () => this.sessions.delete(session.id));
      this.sessions.set(session.id, session);
    });
  }

  /** Tells a runner connected here to stop a job (after a cancel). */
  cancel(runnerId: string, jobId: string, epoch: number): void {
    this.sessions.get(runnerId)?.cancel(jobId, epoch);
  }

  get connectedCount(): number {
    return this.sessions.size;
  }

  async close(): Promise<void> {
    clearInterval(this.pinger);
    await Promise.all([...this.sessions.values()].map((session) => session.close(1001, 'server shutting down')));
    this.wss.close();
  }
}
