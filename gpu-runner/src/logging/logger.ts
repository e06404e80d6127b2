import { pino, type Logger } from 'pino';

/**
 * The package's root logger. Tests must print nothing, and vitest sets `VITEST` in every
 * worker, so logging is silenced there whatever LOG_LEVEL says.
 */
const root = pino({
  name: 'gpu-runner',
  level: process.env.VITEST ? 'silent' : (process.env.LOG_LEVEL ?? 'info'),
});

/** One child logger per module, tagged so log lines can be filtered by origin. */
export function moduleLogger(module: string): Logger {
  return root.child({ module });
}

export type { Logger };
