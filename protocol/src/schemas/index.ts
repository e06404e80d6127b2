/**
 * `@atelier/protocol/schemas`: zod schemas for every message of both sockets and the
 * REST bodies the server reads. The server and the runner parse everything they
 * receive with these; the widget never imports this entry (its bundle stays small).
 */
export * from './generation.js';
export * from './realtime.js';
export * from './runner.js';
export * from './credentials.js';
export * from './tenant-config.js';
export { FORBIDDEN_KEYS, forbiddenKeyPaths } from './safe-keys.js';
export { describeIssues, type FieldError } from './issues.js';
export * from './webhooks.js';
