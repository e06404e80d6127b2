import { createLogger, type Logger } from '@atelier/runtime';

export type { Logger };

/** A module's logger (see @atelier/runtime), its lines tagged as the runner's. */
export function moduleLogger(module: string): Logger {
  return createLogger(module, { service: 'atelier-runner' });
}
