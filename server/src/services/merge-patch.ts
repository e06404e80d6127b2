import { FORBIDDEN_KEYS, forbiddenKeyPaths } from '@atelier/protocol/schemas';
import { invalidRequest } from '../errors/app-error.js';
import { canonicalJson } from './canonical-json.js';

type Json = unknown;

function isObject(value: Json): value is Record<string, Json> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * RFC 7396 JSON merge patch: objects merge member by member, `null` removes a member,
 * anything else (arrays included) replaces. The result is a new value; neither input
 * is changed. Callers refuse a body with `__proto__`-like keys first, naming them
 * (`assertSafeKeys`); meeting one here anyway is a bug, because assigning it would
 * rewrite the result's prototype instead of adding a member.
 */
export function mergePatch(target: Json, patch: Json): Json {
  if (!isObject(patch)) return patch;
  const result: Record<string, Json> = isObject(target) ? Object.fromEntries(Object.entries(target)) : {};
  for (const [key, value] of Object.entries(patch)) {
    if (FORBIDDEN_KEYS.has(key)) throw new Error(`mergePatch refuses the key ${key}`);
    if (value === null) delete result[key];
    else result[key] = mergePatch(result[key], value);
  }
  return result;
}

/** Refuses a body with a `__proto__`, `constructor` or `prototype` key anywhere, naming each. */
export function assertSafeKeys(body: Json): void {
  const paths = forbiddenKeyPaths(body);
  if (paths.length === 0) return;
  const errors = paths.map((path) => ({ field: path.join('.'), message: 'is not allowed as a key' }));
  throw invalidRequest(errors.map((e) => `${e.field}: ${e.message}`).join('; '), { errors });
}

/**
 * Dotted paths of the leaves that differ between two values. Arrays are leaves (a list
 * changes as a whole), and so is a member that exists on one side only.
 */
export function changedPaths(before: Json, after: Json, prefix = ''): string[] {
  if (isObject(before) && isObject(after)) {
    const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
    return keys.flatMap((key) => changedPaths(before[key], after[key], prefix ? `${prefix}.${key}` : key));
  }
  return canonicalJson(before) === canonicalJson(after) ? [] : [prefix];
}

/**
 * The leaf paths a patch names, changed or not (`{output: {watermark: false}}` names
 * `output.watermark`): a request for something the plan refuses is refused even when
 * the stored value already is what was asked.
 */
export function namedPaths(patch: Json, prefix = ''): string[] {
  if (!isObject(patch)) return prefix ? [prefix] : [];
  return Object.keys(patch).flatMap((key) => namedPaths(patch[key], prefix ? `${prefix}.${key}` : key));
}
