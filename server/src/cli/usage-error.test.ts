import { parseArgs } from 'node:util';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { AppError } from '../errors/app-error.js';
import { parse } from '../http/schemas.js';
import { isUsageError } from './usage-error.js';

/** What node:util's parseArgs throws for `args`, with the CLI's kind of options. */
function parseArgsError(args: string[]): unknown {
  try {
    parseArgs({ args, options: { name: { type: 'string' }, json: { type: 'boolean' } } });
  } catch (error) {
    return error;
  }
  throw new Error(`parseArgs accepted ${args.join(' ')}`);
}

describe('isUsageError', () => {
  it.each([
    ['an unknown option', ['--bogus']],
    ['an option without its value', ['--name']],
    ['a value for a flag', ['--json=yes']],
    ['an unexpected positional', ['extra']],
  ])("counts parseArgs's refusal of %s", (_label, args) => {
    const error = parseArgsError(args);
    expect(error).toBeInstanceOf(TypeError);
    expect(isUsageError(error)).toBe(true);
  });

  it('counts a value that fails validation', () => {
    let error: unknown;
    try {
      parse(z.object({ plan: z.enum(['pro']) }), { plan: 'gold' });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(AppError);
    expect(isUsageError(error)).toBe(true);
  });

  it('does not count other TypeErrors, other AppErrors or plain errors', () => {
    let bug: unknown;
    try {
      (undefined as unknown as { name: string }).name.trim();
    } catch (caught) {
      bug = caught;
    }
    expect(bug).toBeInstanceOf(TypeError);
    expect(isUsageError(bug)).toBe(false);
    expect(isUsageError(Object.assign(new TypeError('bad argument'), { code: 'ERR_INVALID_ARG_TYPE' }))).toBe(false);
    expect(isUsageError(new AppError('conflict', 'already exists'))).toBe(false);
    expect(isUsageError(new Error('connection refused'))).toBe(false);
    expect(isUsageError(undefined)).toBe(false);
  });
});
