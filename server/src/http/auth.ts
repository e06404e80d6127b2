import type { Request, RequestHandler } from 'express';
import type { KeyScope } from '@atelier/protocol';
import { AppError, unauthorized } from '../errors/app-error.js';
import type { VerifiedKey } from '../services/key-service.js';
import { requireScopes } from '../services/scopes.js';
import { enterTenantScope } from '../tenancy/tenant-context.js';
import type { RestRateLimits } from './rate-limit.js';
import { SECRET_KEY_NEEDED } from './strategies/bearer-strategies.js';
import type { Identity } from './strategies/identity.js';
import { strategiesFor, type StrategyName } from './strategies/strategy-names.js';

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

/**
 * The REST API's credential check, as Express middleware: `mount` (endpoint.ts) puts
 * `enforce(ep.auth)` before every endpoint. Each declaration stands for passport
 * strategies (`strategiesFor` in strategies/strategy-names.ts: `'admin'` is the `admin`
 * strategy, `{secretKey}` the `secret-key` strategy and then the scopes), run through
 * `passport.authenticate` on the one Passport instance every credential of the server is
 * registered on (strategies/identity.ts); failures become problem+json, not passport's
 * text/plain.
 *
 * The widget's credentials (a publishable key with the page's Origin, a shopper session)
 * and the runner's token are strategies on the same instance, run at the socket and
 * stream entry points through `Identity.at(entry)`; REST routes do not accept them: a
 * `pk_…` sent to a REST route is told that a secret key is needed there.
 *
 * Credentials count only in the `Authorization` header. passport-http-bearer also reads
 * `?access_token=` and a body field `access_token`, but a key in a URL ends up in proxy
 * and server logs and browser history, so a request that carries one there is refused
 * before the strategy sees it, whatever its header says.
 */
export function createAuthenticators(deps: { identity: Identity; limits: RestRateLimits }): Authenticators {
  const { passport } = deps.identity;

  // Given a list, passport tries each strategy in turn and hands the callback one challenge per strategy.
  const authenticate = (
    strategies: readonly StrategyName[],
    callback: (error: unknown, principal: unknown, info: unknown) => void,
  ) => passport.authenticate([...strategies], { session: false }, callback) as RequestHandler;

  const secretKey =
    (strategies: readonly StrategyName[], scopes: readonly KeyScope[], route: string): RequestHandler =>
    (req, res, next) => {
      const misplaced = misplacedCredential(req, 'sk_…');
      if (misplaced) return next(misplaced);
      const check = authenticate(strategies, (error, principal, info) => {
        if (error) return next(error);
        if (!isTenant(principal)) return next(unauthorized(refusalMessage(info) ?? SECRET_KEY_NEEDED));
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
      });
      // The address's bucket comes first: a flood of unknown keys is throttled too.
      deps.limits.address(req, res).then(() => void check(req, res, next), next);
    };

  // The operator's API has no rate limit: it is not for the public internet, its token
  // is long, and onboarding scripts should not be throttled by tenants' limits.
  const admin =
    (strategies: readonly StrategyName[]): RequestHandler =>
    (req, res, next) => {
      const misplaced = misplacedCredential(req, '<ATELIER_ADMIN_TOKEN>');
      if (misplaced) return next(misplaced);
      const check = authenticate(strategies, (error, principal) => {
        if (error) return next(error);
        if (!isAdmin(principal)) {
          return next(
            unauthorized(
              'A valid admin token is required: Authorization: Bearer <ATELIER_ADMIN_TOKEN, or the token in <data dir>/secrets/admin-token>',
            ),
          );
        }
        res.locals.principal = principal;
        next();
      });
      void check(req, res, next);
    };

  return {
    enforce: (auth, route) =>
      auth === 'admin' ? admin(strategiesFor(auth)) : secretKey(strategiesFor(auth), auth.secretKey, route),
  };
}

function isTenant(principal: unknown): principal is TenantPrincipal {
  return typeof principal === 'object' && principal !== null && (principal as Principal).kind === 'tenant';
}

function isAdmin(principal: unknown): principal is AdminPrincipal {
  return typeof principal === 'object' && principal !== null && (principal as Principal).kind === 'admin';
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
function refusalMessage(challenges: unknown): string | undefined {
  // One challenge per strategy tried (passport's callback for a list of strategies).
  const challenge: unknown = Array.isArray(challenges) ? challenges[0] : challenges;
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
