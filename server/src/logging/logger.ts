import { createLogger as runtimeLogger, type Logger } from '@atelier/runtime';

export type { Logger };

/** A module's logger (see @atelier/runtime), its lines tagged as the server's. */
export function createLogger(module: string, context: Record<string, unknown> = {}): Logger {
  return runtimeLogger(module, { service: 'atelier-server', ...context });
}
