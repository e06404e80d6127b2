import type { DatabaseServer } from './embedded-database.js';

export const DEFAULT_DATABASE = 'atelier';

/** The connection string to use: an external URI keeps its own database name if it has one. */
export function applicationDatabaseUri(server: DatabaseServer, database = DEFAULT_DATABASE): string {
  if (server.kind === 'external' && /^mongodb(\+srv)?:\/\/[^/]+\/[^?]+/.test(server.uri)) return server.uri;
  return server.uriFor(database);
}
