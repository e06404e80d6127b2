export { loadConfig, ConfigError, type Config } from './config.js';
export { startServer, type AtelierServer, type ServerOptions, type Services } from './server.js';
export { adminTokenPath, resolveAdminToken, type AdminToken } from './services/admin-token.js';
export type { EndpointAuth, EndpointSummary } from './http/endpoint.js';
export { startDatabase, withDatabase, type DatabaseServer, type StartDatabaseOptions } from './db/embedded-database.js';
export { applicationDatabaseUri } from './db/database-uri.js';
export { connectDatabase, type Database } from './db/connect.js';
export { runWithTenant, runAsSystem } from './tenancy/tenant-context.js';
export type { Generation, StoredImage } from './models/generation.model.js';
