import type { KeyScope } from '@atelier/protocol';
import { AppError } from '../errors/app-error.js';

/**
 * Throws 403 `forbidden` naming every scope in `needed` that `held` lacks. Scope denial
 * is about what the caller's own key may do, decided before anything is read, so it
 * says nothing about whether an object exists (another tenant's object is `not_found`).
 */
export function requireScopes(held: readonly KeyScope[], needed: readonly KeyScope[], purpose: string): void {
  const missing = needed.filter((scope) => !held.includes(scope));
  if (missing.length === 0) return;
  const names = missing.join(', ');
  throw new AppError('forbidden', `This key lacks the scope${missing.length > 1 ? 's' : ''} ${names}, needed ${purpose}.`, {
    details: { missingScopes: missing },
  });
}
