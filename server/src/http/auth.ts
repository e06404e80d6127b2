import type { Request, RequestHandler } from 'express';
import { Passport } from 'passport';
import { Strategy as BearerStrategy } from 'passport-http-bearer';
import type { KeyScope } from '@atelier/protocol';
import { AppError, unauthorized } from '../errors/app-error.js';
import type { KeyCheck, KeyService, VerifiedKey } from '../services/key-service.js';
import { safeEqual } from '../services/ids.js';
import { requireScopes } from '../services/scopes.js';
import { enterTenantScope } from '../tenancy/tenant-context.js';
import type { RestRateLimits } from './rate-limit.js';

/**
 * What a route accepts, declared on the endpoint (endpoint.ts): the operator's admin
 * token, or a tenant's secret key holding every listed scope.
 */
export type EndpointAuth = 'admin' | { secretKey: readonly KeyScope[] };

export interface TenantPrincipal {
  kind: 'tenant';
  tenantId: string;
  /** The tenant's plan, which sizes its rate limit. */
  plan: string;
  key: VerifiedKey;
}

export interface AdminPrincipal {
  kind: 'admin';
}

export type Principal = TenantPrincipal | AdminPrincipal;

export interface Authenticators {
  /** The middleware that enforces `auth` for the route `method path`. */
  enforce(auth: EndpointAuth, route: string): RequestHandler;
}

const SECRET_KEY_NEEDED = 'A valid secret key is required: Authorization: Bearer sk_…';

/** What a caller is told when their key is refused, by reason; the reason is theirs to know (they hold the key). */
const REFUSALS: Record<Exclude<KeyCheck, { ok: true }>['reason'], string> = {
  malformed: SECRET_KEY_NEEDED,
  'bad checksum': 'That is not a valid secret key: its checksum does not match (was it copied whole?).',
  unknown: 'That secret key is not known.',
  revoked: 'That secret key has been revoked.',
  expired: 'That secret key has expired (or its rotation grace period has ended).',
  'tenant inactive': 'The account this key belongs to is not active.',
};

/**
 * Passport strategies for the REST API, on a Passport instance of their own (no
 * global state, no sessions): `secret-key` (a tenant's `sk_…`) and `admin` (the
 * operator's token). Failures become problem+json, not passport's text/plain.
 *
 * The widget socket's credentials (a publishable key with the page's Origin, and a
 * shopper session) arrive on a WebSocket upgrade and in its `hello` message, not on an
 * Express request; the widget hub checks them with the same services (KeyService,
 * ShopperSessions) and refuses them everywhere else: a `pk_…` sent to a REST route is
 * told that a secret key is needed there.
 *
 * Credentials count only in the `Authorization` header. passport-http-bearer also reads
 * `?access_token=` and a body field `access_token`, but a key in a URL ends up in proxy
 * and server logs and browser history, so a request that carries one there is refused
 * before the strategy sees it, whatever its header says.
 */
export function createAuthenticators(deps: { keys: KeyService; adminToken: string; limits: RestRateLimits }): Authenticators {
  const passport = new Passport();

  passport.use(
    'secret-key',
    new BearerStrategy((token, done) => {
      if (token.startsWith('pk_')) {
        return done(
          null,
          false,
          'Publishable keys (pk_…) work only in the widget (the /v1/realtime socket); this endpoint needs a secret key: Authorization: Bearer sk_…',
        );
      }
      deps.keys.verifySecretKey(token).then(
        (check) =>
          check.ok
            ? done(null, {
                kind: 'tenant',
                tenantId: check.tenant._id,
                plan: check.tenant.plan,
                key: check.key,
              } satisfies TenantPrincipal)
            : done(null, false, REFUSALS[check.reason]),
        (error: unknown) => done(error),
      );
    }),
  );

  passport.use(
    'admin',
    new BearerStrategy((token, done) => {
      done(null, safeEqual(token, deps.adminToken) ? ({ kind: 'admin' } satisfies AdminPrincipal) : false);
    }),
  );

  const secretKey =
    (scopes: readonly KeyScope[], route: string): RequestHandler =>
    (req, res, next) => {
      const misplaced = misplacedCredential(req, 'sk_…');
      if (misplaced) return next(misplaced);
      const authenticate = passport.authenticate(
        'secret-key',
        { session: false },
        (error: unknown, principal: TenantPrincipal | false, info: unknown) => {
          if (error) return next(error);
          if (!principal) return next(unauthorized(refusalMessage(info) ?? SECRET_KEY_NEEDED));
          // Every request a verified key makes counts, including one its scopes then refuse.
          deps.limits.credential(principal, res).then(() => {
            try {
              requireScopes(principal.key.scopes, scopes, `for ${route}`);
            } catch (denied) {
              return next(denied);
            }
            res.locals.principal = principal;
            enterTenantScope(principal.tenantId, () => next());
          }, next);
        },
      ) as RequestHandler;
      // The address's bucket comes first: a flood of unknown keys is throttled too.
      deps.limits.address(req, res).then(() => void authenticate(req, res, next), next);
    };

  // The operator's API has no rate limit: it is not for the public internet, its token
  // is long, and onboarding scripts should not be throttled by tenants' limits.
  const admin: RequestHandler = (req, res, next) => {
    const misplaced = misplacedCredential(req, '<ATELIER_ADMIN_TOKEN>');
    if (misplaced) return next(misplaced);
    const authenticate = passport.authenticate(
      'admin',
      { session: false },
      (error: unknown, principal: AdminPrincipal | false) => {
        if (error) return next(error);
        if (!principal) {
          return next(
            unauthorized(
              'A valid admin token is required: Authorization: Bearer <ATELIER_ADMIN_TOKEN, or the token in <data dir>/secrets/admin-token>',
            ),
          );
        }
        res.locals.principal = principal;
        next();
      },
    ) as RequestHandler;
    void authenticate(req, res, next);
  };

  return {
    enforce: (auth, route) => (auth === 'admin' ? admin : secretKey(auth.secretKey, route)),
  };
}

/** The principal `enforce` put on the response; routes read it through their `input`. */
export function principalOf(locals: Record<string, unknown>): Principal {
  const principal = locals.principal as Principal | undefined;
  if (!principal) throw new AppError('internal', 'a route ran without its credential check', { expose: false });
  return principal;
}

/** The calling key of a secret-key route. */
export function callerKey(principal: Principal): VerifiedKey {
  if (principal.kind !== 'tenant') throw new AppError('internal', 'this route needs a tenant principal', { expose: false });
  return principal.key;
}

/**
 * passport-http-bearer turns a refusal into an RFC 6750 challenge,
 * `Bearer realm="Users", error="invalid_token", error_description="…"`; the
 * description is the verify function's message.
 */
function refusalMessage(challenge: unknown): string | undefined {
  return typeof challenge === 'string' ? /error_description="([^"]*)"/.exec(challenge)?.[1] : undefined;
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
