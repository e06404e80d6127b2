import type { z } from 'zod';

export interface FieldError {
  /** Dotted path of the failing field, e.g. `params.prompt`; absent for the value as a whole. */
  field?: string;
  message: string;
}

/** Zod's issues as field errors and one readable line naming each failing field. */
export function describeIssues(error: z.ZodError): { errors: FieldError[]; summary: string } {
  const errors = error.issues.map((issue) => {
    const field = issue.path.map(String).join('.');
    return field ? { field, message: issue.message } : { message: issue.message };
  });
  const summary = errors
    .map((e) => (e.field && !e.message.startsWith(e.field) ? `${e.field}: ${e.message}` : e.message))
    .join('; ');
  return { errors, summary };
}
