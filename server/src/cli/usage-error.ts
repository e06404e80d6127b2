import { AppError } from '../errors/app-error.js';

/**
 * Whether a failure is the operator's command line being wrong: node:util's parseArgs
 * refusing the arguments (its errors are TypeErrors, told apart by their
 * `ERR_PARSE_ARGS_*` code, so a TypeError from a bug is not mistaken for one), or an
 * option's value failing validation. Those are answered with one line and exit code 2;
 * anything else is a failure of the command itself.
 */
export function isUsageError(error: unknown): boolean {
  if (error instanceof AppError) return error.code === 'invalid_request';
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS_');
}
