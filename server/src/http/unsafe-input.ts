import type { RequestHandler } from 'express';
import { FORBIDDEN_KEYS, type FieldError } from '@atelier/protocol/schemas';
import { invalidRequest } from '../errors/app-error.js';

/**
 * Refuses, before any route sees it, input that no route accepts and that would be
 * dangerous if one ever let it through: query operators (`$ne`, `$where`, …) as keys
 * anywhere in a JSON body, `__proto__`/`constructor`/`prototype` keys at any depth, and
 * query parameters whose names are brackets or operators (`limit[$gt]`, `a[b][c]`).
 *
 * The schemas would refuse most of these one field at a time; this says what the
 * problem is, for every route alike (the ones that read no body included), and keeps
 * it so if a later schema is looser (a record of free-form keys, a pass-through).
 */
export const rejectUnsafeInput: RequestHandler = (req, _res, next) => {
  const errors = [...Object.keys(req.query as object).flatMap((name) => queryNameProblem(name)), ...keyProblems(req.body, [])];
  if (errors.length === 0) return next();
  next(invalidRequest(errors.map((e) => `${e.field}: ${e.message}`).join('; '), { errors }));
};

function queryNameProblem(name: string): FieldError[] {
  const field = name;
  if (name.includes('[') || name.includes(']')) {
    return [{ field, message: 'bracketed parameter names are not accepted; send plain name=value pairs' }];
  }
  return keyProblem(name, field);
}

function keyProblem(key: string, field: string): FieldError[] {
  if (key.startsWith('$')) return [{ field, message: 'operator keys ($…) are not accepted' }];
  if (FORBIDDEN_KEYS.has(key)) return [{ field, message: 'is not allowed as a key' }];
  return [];
}

function keyProblems(value: unknown, path: string[]): FieldError[] {
  if (typeof value !== 'object' || value === null) return [];
  if (Array.isArray(value)) return value.flatMap((item, index) => keyProblems(item, [...path, String(index)]));
  return Object.keys(value).flatMap((key) => {
    const here = [...path, key];
    const problem = keyProblem(key, here.join('.'));
    return problem.length > 0 ? problem : keyProblems((value as Record<string, unknown>)[key], here);
  });
}
