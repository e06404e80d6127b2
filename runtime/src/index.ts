/**
 * `@atelier/runtime` (private): what every Atelier Node process shares. The root logger
 * (stderr, `LOG_LEVEL`) and the readers each process's configuration loader is built
 * from, so that every variable is read and validated in one place and every invalid
 * one stops start-up with the same kind of line. Also the cross-process directory lock and
 * the Go-module builder that the embedded database and the test S3 server are made with.
 */
export { ConfigError, absolutePath, httpUrl, integer, optional, type Env } from './env.js';
export { LOG_LEVELS, createLogger, logLevel, type LogLevel, type Logger } from './logger.js';
export { withDirectoryLock } from './directory-lock.js';
export { describeGoError, ensureGoBinary, type GoBinary } from './go-binary.js';
