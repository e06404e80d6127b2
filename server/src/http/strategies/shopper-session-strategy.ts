import type { ShopperClaims, ShopperSessions } from '../../services/shopper-sessions.js';
import { CredentialStrategy, type Refusal } from './credential-strategy.js';

/** A shopper session to check: the token (from the handshake's `&session=` or `hello.shopper`) and the socket's tenant. */
export interface ShopperSessionRequest {
  token: string;
  tenantId: string;
}

export interface ShopperPrincipal {
  kind: 'shopper';
  claims: ShopperClaims;
}

/**
 * `shopper-session`: the signed token a tenant's backend minted for a shopper
 * (ShopperSessions), valid only for the tenant whose publishable key opened the socket.
 * Whether it came on the URL or in `hello`, this is its one check.
 */
export function shopperSessionStrategy(deps: {
  sessions: Pick<ShopperSessions, 'verify'>;
}): CredentialStrategy<ShopperSessionRequest, ShopperPrincipal, Refusal> {
  return new CredentialStrategy(async ({ token, tenantId }: ShopperSessionRequest) => {
    const check = await deps.sessions.verify(token, tenantId);
    if (check.ok) return { ok: true, principal: { kind: 'shopper', claims: check.claims } };
    const message =
      check.reason === 'expired'
        ? 'The shopper session has expired; reload the page to start a new one.'
        : 'The shopper session is not valid for this shop.';
    return { ok: false, refusal: { reason: check.reason, message } };
  });
}
