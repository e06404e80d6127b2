#!/usr/bin/env node
import { ConfigError, loadConfig, type Config } from './config.js';
import { applicationDatabaseUri } from './db/database-uri.js';
import { startDatabase } from './db/embedded-database.js';
import { installLastResort } from './last-resort.js';
import { createLogger } from './logging/logger.js';
import { startServer } from './server.js';

const log = createLogger('main');

let config: Config;
try {
  config = loadConfig();
} catch (error) {
  if (error instanceof ConfigError) {
    console.error(`atelier-server: invalid configuration: ${error.message}`);
    process.exit(1);
  }
  throw error;
}

const database = await startDatabase({ dataDir: config.dataDir, cacheDir: config.cacheDir, mongodbUri: config.mongodbUri });
const server = await startServer({ ...config, mongodbUri: applicationDatabaseUri(database) }).catch(async (error: unknown) => {
  await database.stop();
  if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') {
    console.error(`atelier-server: port ${config.port} on ${config.host} is already in use: stop what uses it or set PORT`);
    process.exit(1);
  }
  throw error;
});

// Once serving (a failed start still ends the process with its error, as before):
// nothing a peer sends can end the process now, and anything else ends it logged.
installLastResort({ process, log, exit: (code) => process.exit(code) });

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down');
    void server
      .close()
      .then(() => database.stop())
      .then(
        () => process.exit(0),
        (error: unknown) => {
          log.error({ err: error }, 'shutdown failed');
          process.exit(1);
        },
      );
  });
}
