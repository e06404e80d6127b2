/**
 * Keys that must never reach an object merge or an assignment loop: in a JSON body they
 * are own data properties, but `target[key] = …` with one of them rewrites a prototype.
 */
export const FORBIDDEN_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

/** Dotted paths of every forbidden key in a parsed JSON value, outermost first. */
export function forbiddenKeyPaths(value: unknown, path: (string | number)[] = []): (string | number)[][] {
  if (typeof value !== 'object' || value === null) return [];
  const found: (string | number)[][] = [];
  if (Array.isArray(value)) {
    value.forEach((item, index) => found.push(...forbiddenKeyPaths(item, [...path, index])));
    return found;
  }
  for (const key of Object.keys(value)) {
    if (FORBIDDEN_KEYS.has(key)) {
      found.push([...path, key]);
      continue;
    }
    found.push(...forbiddenKeyPaths((value as Record<string, unknown>)[key], [...path, key]));
  }
  return found;
}
