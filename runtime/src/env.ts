import { isAbsolute, resolve } from 'node:path';

/** The environment as a configuration loader reads it (`process.env`, or a test's object). */
export type Env = Readonly<Record<string, string | undefined>>;

/**
 * Invalid configuration. Its message is one line that starts with the variable's name,
 * which is what an entry point prints before it exits (CONTRACT.md, "Environment").
 */
export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    message: string,
  ) {
    super(`${variable}: ${message}`);
    this.name = 'ConfigError';
  }
}

/** The variable's value; unset and empty are the same (a shell's `VAR=` means "not set"). */
export function optional(env: Env, name: string): string | undefined {
  const raw = env[name];
  return raw === undefined || raw === '' ? undefined : raw;
}

/** A whole number from `min` to `max` written in decimal, or `fallback` when unset. */
export function integer(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = optional(env, name);
  if (raw === undefined) return fallback;
  // `Number()` would also take `1e3`, `0x10` and ` 80 `; a port or a timeout is written plainly.
  const value = /^-?[0-9]+$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new ConfigError(name, `must be an integer from ${min} to ${max} (got "${raw}")`);
  }
  return value;
}

/** An http(s) URL without a trailing slash, or undefined when unset. */
export function httpUrl(env: Env, name: string): string | undefined {
  const raw = optional(env, name);
  if (raw === undefined) return undefined;
  let parsed: URL;
  try {
    parsed = new URL(raw);
  } catch {
    throw new ConfigError(name, `must be an http(s) URL (got "${raw}")`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new ConfigError(name, `must be an http(s) URL (got "${raw}")`);
  }
  return parsed.toString().replace(/\/$/, '');
}

/** A path, made absolute against `cwd` when it is relative; undefined when unset. */
export function absolutePath(env: Env, name: string, cwd: string): string | undefined {
  const raw = optional(env, name);
  if (raw === undefined) return undefined;
  return isAbsolute(raw) ? raw : resolve(cwd, raw);
}
