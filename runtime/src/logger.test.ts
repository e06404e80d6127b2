import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { ConfigError } from './env.js';
import { LOG_LEVELS, logLevel } from './logger.js';

const run = promisify(execFile);
const built = fileURLToPath(new URL('../dist/index.js', import.meta.url));

/**
 * A real process that logs one line at each level through the built package, with only
 * `env` in its environment (plus PATH).
 */
async function logFrom(
  env: Record<string, string>,
): Promise<{ stdout: string; lines: { level: number; module: string; msg: string }[] }> {
  const script = `
    const { createLogger } = await import(${JSON.stringify(built)});
    const log = createLogger('probe', { service: 'test' });
    for (const level of ['trace', 'debug', 'info', 'warn', 'error', 'fatal']) log[level](level);
  `;
  const { stdout, stderr } = await run(process.execPath, ['--input-type=module', '-e', script], {
    env: { PATH: process.env.PATH ?? '', ...env },
  });
  const lines = stderr
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as { level: number; module: string; msg: string });
  return { stdout, lines };
}

describe('logLevel', () => {
  it("accepts pino's levels and silent", () => {
    expect(LOG_LEVELS).toEqual(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']);
    for (const level of LOG_LEVELS) expect(logLevel({ LOG_LEVEL: level })).toBe(level);
    expect(logLevel({})).toBeUndefined();
    expect(logLevel({ LOG_LEVEL: '' })).toBeUndefined();
  });

  it.each(['verbose', 'INFO', '30', ' warn'])('refuses "%s" with one line naming LOG_LEVEL', (raw) => {
    let error: unknown;
    try {
      logLevel({ LOG_LEVEL: raw });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).message).toBe(
      `LOG_LEVEL: must be one of fatal, error, warn, info, debug, trace, silent (got "${raw}")`,
    );
  });
});

describe('createLogger', () => {
  it('writes JSON lines to stderr at info and above by default, nothing to stdout', async () => {
    const { stdout, lines } = await logFrom({});
    expect(stdout).toBe('');
    expect(lines.map((line) => line.msg)).toEqual(['info', 'warn', 'error', 'fatal']);
    expect(lines[0]).toMatchObject({ module: 'probe', service: 'test', level: 30 });
  });

  it('follows LOG_LEVEL', async () => {
    expect((await logFrom({ LOG_LEVEL: 'error' })).lines.map((line) => line.msg)).toEqual(['error', 'fatal']);
    expect((await logFrom({ LOG_LEVEL: 'trace' })).lines).toHaveLength(6);
  });

  it('is silent under vitest unless LOG_LEVEL asks for logs', async () => {
    expect((await logFrom({ VITEST: 'true' })).lines).toEqual([]);
    expect((await logFrom({ VITEST: 'true', LOG_LEVEL: 'warn' })).lines.map((line) => line.msg)).toEqual([
      'warn',
      'error',
      'fatal',
    ]);
  });

  it('logs at info when LOG_LEVEL is invalid, leaving the refusal to the configuration loader', async () => {
    expect((await logFrom({ LOG_LEVEL: 'verbose' })).lines.map((line) => line.msg)).toEqual(['info', 'warn', 'error', 'fatal']);
  });
});
