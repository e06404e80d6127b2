import type { Request, RequestHandler } from 'express';
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
 *
 * Credentials count only in the `Authorization` header. passport-http-bearer also reads
 * `?access_token=` and a body field `access_token`, but a key in a URL ends up in proxy
 * and server logs and browser history, so a request that carries one there is refused
 * before the strategy sees it, whatever its header says.
 */
export function createAuthenticators(deps: { keys: KeyService; adminToken: string | undefined }): Authenticators {
  const passport = new Passport();

  passport.use(
    'secret-key',
    new BearerStrategy((token, done) => {
      deps.keys.verifySecretKey(token).then(
        (check) =>
          done(
            null,
            check.ok ? ({ kind: 'tenant', tenantId: check.tenant._id, keyId: check.keyId } satisfies TenantPrincipal) : false,
          ),
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
    const misplaced = misplacedCredential(req, 'sk_…');
    if (misplaced) return next(misplaced);
    const authenticate = passport.authenticate(
      'secret-key',
      { session: false },
      (error: unknown, principal: TenantPrincipal | false) => {
        if (error) return next(error);
        if (!principal) return next(unauthorized('A valid secret key is required: Authorization: Bearer sk_…'));
        res.locals.principal = principal;
        enterTenantScope(principal.tenantId, () => next());
      },
    ) as RequestHandler;
    void authenticate(req, res, next);
  };

  const admin: RequestHandler = (req, res, next) => {
    if (deps.adminToken === undefined) {
      return next(new AppError('unauthorized', 'The admin API is disabled: set ATELIER_ADMIN_TOKEN to enable it.'));
    }
    const misplaced = misplacedCredential(req, '<ATELIER_ADMIN_TOKEN>');
    if (misplaced) return next(misplaced);
    const authenticate = passport.authenticate(
      'admin',
      { session: false },
      (error: unknown, principal: AdminPrincipal | false) => {
        if (error) return next(error);
        if (!principal) return next(unauthorized('A valid admin token is required: Authorization: Bearer <ATELIER_ADMIN_TOKEN>'));
        res.locals.principal = principal;
        next();
      },
    ) as RequestHandler;
    void authenticate(req, res, next);
  };

  return { secretKey, admin };
}

/** A 401 naming where the credential was found and where it goes, if it is not in the header. */
function misplacedCredential(req: Request, credential: string): AppError | undefined {
  const body: unknown = req.body;
  const where = Object.hasOwn(req.query, 'access_token')
    ? 'the query string'
    : typeof body === 'object' && body !== null && Object.hasOwn(body, 'access_token')
      ? 'the request body'
      : undefined;
  if (!where) return undefined;
  return unauthorized(
    `Credentials are accepted only in the Authorization header, not in ${where}: send Authorization: Bearer ${credential}`,
  );
}
