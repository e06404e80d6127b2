import { loadConfig } from '@atelier/server/config';
import { absolutePath, integer, type Env, type LogLevel } from '@atelier/runtime';
import { DEMO_TENANTS } from './demo-tenants.js';

export interface DemoConfig {
  dataDir: string;
  /** The API server's port; 0 picks a free one. */
  port: number;
  /** The first storefront's port (one more for each further storefront); 0 picks free ones. */
  storefrontPort: number;
  adminToken: string | undefined;
  /** Handed to the runner; unset: the generated tiny model. */
  modelDir: string | undefined;
  logLevel: LogLevel | undefined;
}

/**
 * Reads the demo's environment, in one place. The variables it shares with the server
 * (and the server's others, which the server process will read from the same
 * environment) are validated by the server's own loader, so a bad value stops the demo
 * with the same one line before anything starts.
 */
export function loadDemoConfig(env: Env = process.env, cwd = process.cwd()): DemoConfig {
  const server = loadConfig(env, cwd);
  return {
    dataDir: server.dataDir,
    port: server.port,
    storefrontPort: integer(env, 'STOREFRONT_PORT', 8788, 0, 65535 - (DEMO_TENANTS.length - 1)),
    adminToken: server.adminToken,
    modelDir: absolutePath(env, 'ATELIER_MODEL_DIR', cwd),
    logLevel: server.logLevel,
  };
}
