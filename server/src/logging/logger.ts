import pino, { type Logger } from 'pino';

/**
 * One root logger; each module takes a child named after itself. Tests run silent
 * (a test prints nothing); `LOG_LEVEL` overrides.
 */
const root = pino(
  {
    level: process.env.LOG_LEVEL ?? (process.env.VITEST ? 'silent' : 'info'),
    base: { service: 'atelier-server' },
  },
  // stderr, so that a command's stdout (the CLI's `--json`) is only its output.
  pino.destination(2),
);

export type { Logger };

export function createLogger(module: string, context: Record<string, unknown> = {}): Logger {
  return root.child({ module, ...context });
}
