import type { AuditActor } from '../models/audit-event.model.js';
import { invalidRequest } from '../errors/app-error.js';
import type { CliServices } from './cli-services.js';

/** What a command prints: `json` with `--json`, `text` otherwise. */
export interface Output {
  json: unknown;
  text: string;
}

/** The parsed command line a command reads: its own positionals and every option. */
export interface Invocation {
  args: string[];
  options: Record<string, string | string[] | boolean | undefined>;
  services: CliServices;
  actor: AuditActor;
}

export type Command = (invocation: Invocation) => Promise<Output>;

/** The command's positionals, by name; a missing or extra one is a usage error (exit code 2). */
export function expectArgs<const Names extends readonly string[]>(
  args: string[],
  names: Names,
  command: string,
): { [K in keyof Names]: string } {
  if (args.length !== names.length) {
    const wanted = names.length === 0 ? 'no arguments' : names.map((name) => `<${name}>`).join(' ');
    throw invalidRequest(`${command} takes ${wanted}`);
  }
  return args as { [K in keyof Names]: string };
}

export function stringOption(options: Invocation['options'], name: string): string | undefined {
  const value = options[name];
  return typeof value === 'string' ? value : undefined;
}

/** A numeric option as a number for the schema to judge (`abc` and `` become NaN, which it refuses). */
export function numberOption(options: Invocation['options'], name: string): number | undefined {
  const value = stringOption(options, name);
  if (value === undefined) return undefined;
  return value.trim() === '' ? Number.NaN : Number(value);
}
