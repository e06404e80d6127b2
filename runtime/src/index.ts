/**
 * `@atelier/runtime` (private): what every Atelier Node process shares. The root logger
 * (stderr, `LOG_LEVEL`) and the readers each process's configuration loader is built
 * from, so that every variable is read and validated in one place and every invalid
 * one stops start-up with the same kind of line.
 */
export { ConfigError, absolutePath, httpUrl, integer, optional, type Env } from './env.js';
export { LOG_LEVELS, createLogger, logLevel, type LogLevel, type Logger } from './logger.js';
