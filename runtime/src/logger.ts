import { pino, type LevelWithSilent, type Logger } from 'pino';
import { ConfigError, optional, type Env } from './env.js';

export type { Logger };
export type LogLevel = LevelWithSilent;

/** pino's levels, most severe first, and `silent`. */
export const LOG_LEVELS: readonly LogLevel[] = [
  ...(Object.entries(pino.levels.values) as [LogLevel, number][]).sort(([, a], [, b]) => b - a).map(([name]) => name),
  'silent',
];

/** `LOG_LEVEL`, validated against pino's levels; undefined when unset. */
export function logLevel(env: Env): LogLevel | undefined {
  const raw = optional(env, 'LOG_LEVEL');
  if (raw === undefined) return undefined;
  if (!(LOG_LEVELS as readonly string[]).includes(raw)) {
    throw new ConfigError('LOG_LEVEL', `must be one of ${LOG_LEVELS.join(', ')} (got "${raw}")`);
  }
  return raw as LogLevel;
}

/**
 * The level the process logs at. A test prints nothing, so under vitest (which sets
 * VITEST in every worker) logging is off unless LOG_LEVEL asks for it. An invalid
 * LOG_LEVEL counts as unset here: the process's configuration loader reports it as the
 * one-line start-up error, which a throw at import time could not be.
 */
function rootLevel(env: Env): LogLevel {
  let configured: LogLevel | undefined;
  try {
    configured = logLevel(env);
  } catch {
    configured = undefined;
  }
  return configured ?? (optional(env, 'VITEST') ? 'silent' : 'info');
}

/**
 * One root logger per process, made from the environment as it is when the first module
 * logger is created, and every module logger is a child of it. pino copies the level
 * into a child at creation, and modules create theirs at import time, so the level
 * cannot usefully change afterwards: an entry point that wants another default (the CLI,
 * the demo, a benchmark) sets `LOG_LEVEL` before it imports anything that logs. Reading
 * configuration (this package's env readers, the config modules) creates no logger.
 *
 * Logs go to stderr, so that a command's stdout (the CLI's `--json`) is only its output,
 * and synchronously: a line logged just before `process.exit` is not lost, and lines
 * keep their order (an async destination writes `fatal` ahead of lines still in flight).
 */
let root: Logger | undefined;

/** A logger for one module, its lines tagged `module` and with any fixed `context`. */
export function createLogger(module: string, context: Record<string, unknown> = {}): Logger {
  root ??= pino({ level: rootLevel(process.env) }, pino.destination({ dest: 2, sync: true }));
  return root.child({ module, ...context });
}
