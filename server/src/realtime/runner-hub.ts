import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { RUNNER_CLOSE, RUNNER_MAX_FRAME_BYTES, RUNNER_PATH } from '@atelier/protocol';
import type { Gate, Identity } from '../http/strategies/identity.js';
import { createLogger } from '../logging/logger.js';
import { newId } from '../services/ids.js';
import { ConnectionLimits, clientAddress } from './connection-limits.js';
import { createSocketServer, guardSocket } from './guard-socket.js';
import { rejectUpgrade } from './reject-upgrade.js';
import { RunnerSession, type RunnerHubDeps } from './runner-session.js';

export type { RunnerHubDeps } from './runner-session.js';

const log = createLogger('runner-hub');

/**
 * The runner side of the queue: authenticates runners (`Authorization: Bearer rt_…`, the
 * `runner-token` strategy),
 * leases them jobs through the dispatcher, and turns their reports into fenced queue
 * transitions. A runner only ever speaks about the one job it holds; anything about
 * another job or an old epoch is answered with `lease-lost` and changes nothing.
 * Frames are capped at the largest image a runner may send.
 */
export class RunnerHub {
  private readonly wss = createSocketServer(RUNNER_MAX_FRAME_BYTES);
  private readonly sessions = new Map<string, RunnerSession>();
  private readonly limits = new ConnectionLimits();
  private readonly pinger: NodeJS.Timeout;
  private readonly gate: Gate<'runner-token'>;

  constructor(private readonly deps: RunnerHubDeps & { identity: Pick<Identity, 'at'> }) {
    this.gate = deps.identity.at(`WS ${RUNNER_PATH}`);
    // A runner says nothing while it waits for work, so the hub pings it: each answer
    // keeps its registry record fresh, and it keeps counting as online (queue estimates,
    // the widget's "waiting for a GPU", /healthz) for as long as it is really there.
    this.pinger = setInterval(() => this.sessions.forEach((session) => session.ping()), deps.heartbeatMs);
    this.pinger.unref();
  }

  async handleUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const address = clientAddress(request);
    if (!this.limits.hold(`address:${address}`, this.deps.maxSocketsPerAddress, socket)) {
      log.warn({ address }, 'runner socket over the per-address limit');
      return rejectUpgrade(socket, 'rate_limited', 'Too many runner connections from this address.');
    }
    const check = await this.gate.authenticate('runner-token', request);
    if (!check.ok) {
      log.warn({ reason: check.refusal.reason, address }, 'runner refused');
      return rejectUpgrade(socket, 'unauthorized', check.refusal.message);
    }
    const { tokenId } = check.principal;
    const admitted = this.limits.hold(`token:${tokenId}`, this.deps.maxSocketsPerToken, socket);
    this.wss.handleUpgrade(request, socket, head, (ws) => {
      guardSocket(ws, log, { address, tokenId });
      if (!admitted) {
        log.warn({ tokenId }, 'runner socket over the per-token limit');
        ws.close(RUNNER_CLOSE.tooManyConnections, 'too many connections for this runner token');
        return;
      }
      const session = new RunnerSession(newId('run'), tokenId, ws, this.deps, () => this.sessions.delete(session.id));
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
    // Each session settles once its job is back in the queue, which needs its socket closed.
    const closing = [...this.sessions.values()].map((session) => session.close(RUNNER_CLOSE.goingAway, 'server shutting down'));
    this.wss.close();
    await Promise.all(closing);
  }
}
