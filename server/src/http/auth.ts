import type { RequestHandler } from 'express';
import { Passport } from 'passport';
import { Strategy as BearerStrategy } from 'passport-http-bearer';
import { AppError, unauthorized } from '../errors/app-error.js';
import type { KeyService } from '../services/key-service.js';
import { safeEqual } from '../services/ids.js';
import { enterTenantScope } from '../tenancy/tenant-context.js';

interface TenantPrincipal {
  kind: 'tenant';
  tenantId: string;
  keyId: string;
}

interface AdminPrincipal {
  kind: 'admin';
}

export interface Authenticators {
  /** `Authorization: Bearer sk_…`; runs the rest of the request in that tenant's scope. */
  secretKey: RequestHandler;
  /** `Authorization: Bearer $ATELIER_ADMIN_TOKEN`. */
  admin: RequestHandler;
}

/**
 * Passport strategies for the REST API, on a Passport instance of their own (no
 * global state, no sessions). Failures become problem+json, not passport's text/plain.
 */
export function createAuthenticators(deps: { keys: KeyService; adminToken: string | undefined }): Authenticators {
  const passport = new Passport();

  passport.use(
    'secret-key',
    new BearerStrategy((token, done) => {
      deps.keys.verifySecretKey(token).then(
        (check) => done(null, check.ok ? ({ kind: 'tenant', tenantId: check.tenant._id, keyId: check.keyId } satisfies TenantPrincipal) : false),
        (error: unknown) => done(error),
      );
    }),
  );

  passport.use(
    'admin',
    new BearerStrategy((token, done) => {
      const ok = deps.adminToken !== undefined && safeEqual(token, deps.adminToken);
      done(null, ok ? ({ kind: 'admin' } satisfies AdminPrincipal) : false);
    }),
  );

  const secretKey: RequestHandler = (req, res, next) => {
    passport.authenticate('secret-key', { session: false }, (error: unknown, principal: TenantPrincipal | false) => {
      if (error) return next(error);
      if (!principal) return next(unauthorized('A valid secret key is required: Authorization: Bearer sk_…'));
      res.locals.principal = principal;
      enterTenantScope(principal.tenantId, () => next());
    })(req, res, next);
  };

  const admin: RequestHandler = (req, res, next) => {
    if (deps.adminToken === undefined) {
      return next(new AppError('unauthorized', 'The admin API is disabled: set ATELIER_ADMIN_TOKEN to enable it.'));
    }
    passport.authenticate('admin', { session: false }, (error: unknown, principal: AdminPrincipal | false) => {
      if (error) return next(error);
      if (!principal) return next(unauthorized('A valid admin token is required: Authorization: Bearer <ATELIER_ADMIN_TOKEN>'));
      res.locals.principal = principal;
      next();
    })(req, res, next);
  };

  return { secretKey, admin };
}
