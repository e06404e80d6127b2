import type { z } from 'zod';

export interface FieldError {
  /** Dotted path of the failing field, e.g. `params.prompt`; absent for the value as a whole. */
  field?: string;
  message: string;
}

/**
 * Zod's issues as field errors and one readable line naming each failing field. An
 * unknown member is named by its own path (`branding.colour: unknown field`), not only
 * by the object holding it.
 */
export function describeIssues(error: z.ZodError): { errors: FieldError[]; summary: string } {
  const errors = error.issues.flatMap((issue): FieldError[] => {
    const paths = issue.code === 'unrecognized_keys' ? issue.keys.map((key) => [...issue.path, key]) : [issue.path];
    const message = issue.code === 'unrecognized_keys' ? 'unknown field' : issue.message;
    return paths.map((path) => {
      const field = path.map(String).join('.');
      return field ? { field, message } : { message };
    });
  });
  const summary = errors
    .map((e) => (e.field && !e.message.startsWith(e.field) ? `${e.field}: ${e.message}` : e.message))
    .join('; ');
  return { errors, summary };
}
