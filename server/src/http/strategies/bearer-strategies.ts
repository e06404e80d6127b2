import { Strategy as BearerStrategy, type VerifyFunction } from 'passport-http-bearer';
import type { KeyCheck, KeyService } from '../../services/key-service.js';
import { safeEqual } from '../../services/ids.js';
import type { AdminPrincipal, TenantPrincipal } from '../auth.js';

export const SECRET_KEY_NEEDED = 'A valid secret key is required: Authorization: Bearer sk_…';

/** What a caller is told when their key is refused, by reason; the reason is theirs to know (they hold the key). */
const REFUSALS: Record<Exclude<KeyCheck, { ok: true }>['reason'], string> = {
  malformed: SECRET_KEY_NEEDED,
  'bad checksum': 'That is not a valid secret key: its checksum does not match (was it copied whole?).',
  unknown: 'That secret key is not known.',
  revoked: 'That secret key has been revoked.',
  expired: 'That secret key has expired (or its rotation grace period has ended).',
  'tenant inactive': 'The account this key belongs to is not active.',
};

/** `secret-key`: a tenant's `sk_…`, for the REST API. A refusal's message is the challenge's `error_description`. */
export function secretKeyStrategy(deps: { keys: Pick<KeyService, 'verifySecretKey'> }): BearerStrategy<VerifyFunction> {
  return new BearerStrategy((token, done) => {
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
  });
}

/** `admin`: the operator's token, for `/admin/v1`. */
export function adminStrategy(deps: { adminToken: string }): BearerStrategy<VerifyFunction> {
  return new BearerStrategy((token, done) => {
    done(null, safeEqual(token, deps.adminToken) ? ({ kind: 'admin' } satisfies AdminPrincipal) : false);
  });
}
