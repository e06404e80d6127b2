import type { Request } from 'express';

/**
 * The JSON body of an embedded-admin write, checked against the members it may have:
 * the field errors (`name: message`, as the rest of the API words them), or the body.
 * The server's JSON parser and its unsafe-input screen have run before (size, operator
 * and prototype keys); this refuses what is left: a body that is not an object, and
 * members the route does not read.
 */
export function readBody(
  req: Request,
  fields: Record<string, (value: unknown) => string | undefined>,
): { ok: true; body: Record<string, unknown> } | { ok: false; detail: string } {
  const body: unknown = req.body ?? {};
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    return { ok: false, detail: 'the body must be a JSON object' };
  const errors: string[] = [];
  for (const key of Object.keys(body)) if (!(key in fields)) errors.push(`${key}: unknown field`);
  for (const [name, check] of Object.entries(fields)) {
    const problem = check((body as Record<string, unknown>)[name]);
    if (problem) errors.push(`${name}: ${problem}`);
  }
  return errors.length > 0 ? { ok: false, detail: errors.join('; ') } : { ok: true, body: body as Record<string, unknown> };
}
