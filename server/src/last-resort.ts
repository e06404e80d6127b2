import type { Logger } from './logging/logger.js';

export type FaultOrigin = 'uncaughtException' | 'unhandledRejection';

export interface FaultVerdict {
  /** True when the process may carry on after logging the fault. */
  survive: boolean;
  /** One line on why, for the log. */
  reason: string;
}

/** A peer that hung up mid-write or mid-read: the connection is gone, the process is fine. */
const PEER_SOCKET_CODES = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED']);

/**
 * Whether a fault that reached the top of the process leaves it in a state it can go
 * on from. An error from a peer's socket (a reset, a broken pipe, a frame `ws` refused,
 * whose codes all start with `WS_ERR_`) concerns that one connection, which is already
 * closed; an unhandled rejection fails the one operation that dropped its promise.
 * Anything else was thrown from a callback nobody expected to throw: the state of the
 * process is unknown, so it stops and its supervisor starts a fresh one.
 */
export function classifyFault(origin: FaultOrigin, error: unknown): FaultVerdict {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && (PEER_SOCKET_CODES.has(code) || code.startsWith('WS_ERR_'))) {
    return { survive: true, reason: `a peer's connection failed (${code}); only that connection is affected` };
  }
  if (origin === 'unhandledRejection') {
    return { survive: true, reason: 'a promise was rejected with nobody waiting on it; only that operation failed' };
  }
  return { survive: false, reason: 'an exception escaped to the top of the process; its state is unknown' };
}

/** What `installLastResort` listens on, and how it stops the process. */
export interface LastResortDeps {
  process: Pick<NodeJS.EventEmitter, 'on'>;
  log: Logger;
  exit(code: number): void;
}

/**
 * The process's last line of defence: every uncaught exception and unhandled rejection
 * is logged in one structured line, and the process either carries on (see
 * `classifyFault`) or exits with status 1 so that a supervisor restarts it.
 */
export function installLastResort(deps: LastResortDeps): void {
  const handle = (origin: FaultOrigin) => (error: unknown) => {
    const verdict = classifyFault(origin, error);
    const line = { err: error, origin, survive: verdict.survive, reason: verdict.reason };
    if (verdict.survive) {
      deps.log.error(line, `${origin}; carrying on`);
      return;
    }
    deps.log.fatal(line, `${origin}; exiting`);
    deps.exit(1);
  };
  deps.process.on('uncaughtException', handle('uncaughtException'));
  deps.process.on('unhandledRejection', handle('unhandledRejection'));
}
