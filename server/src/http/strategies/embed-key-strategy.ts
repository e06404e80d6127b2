import type { IncomingMessage } from 'node:http';
import type { Tenant } from '../../models/tenant.model.js';
import type { KeyService } from '../../services/key-service.js';
import { exactOrigin } from '../origins.js';
import { CredentialStrategy, type Refusal } from './credential-strategy.js';

export interface EmbedPrincipal {
  kind: 'embed';
  tenant: Tenant;
  /** The framing page's origin, one the tenant allowed. */
  parent: string;
  /** The publishable key it was opened with, which the page hands to its studio. */
  publishableKey: string;
}

/**
 * `embed-key`: the iframe page's publishable key (`?key=pk_…`) with the origin of the
 * page that frames it (`&parent=`), which must be one the tenant allowed. The browser
 * sends no Origin on the frame's navigation, so the parent is the page's claim, and the
 * page answered is held to it: its `frame-ancestors` lets only that origin frame it. Unlike
 * `publishable-key`, this server's own origin is not allowed: the page itself is here.
 */
export function embedKeyStrategy(deps: {
  keys: Pick<KeyService, 'verifyPublishableKey'>;
}): CredentialStrategy<IncomingMessage, EmbedPrincipal, Refusal> {
  return new CredentialStrategy(async (request: IncomingMessage) => {
    const url = new URL(request.url ?? '/', 'http://localhost');
    // Given twice, neither counts: the page could be framed by one and named for the other.
    const parents = url.searchParams.getAll('parent');
    const parent = parents.length === 1 ? exactOrigin(parents[0]!) : undefined;
    if (!parent) {
      return {
        ok: false,
        refusal: { reason: 'parent', message: 'The embedding page did not say its origin (parent=https://…).' },
      };
    }
    const keys = url.searchParams.getAll('key');
    const publishableKey = keys.length === 1 ? keys[0] : undefined;
    const check = await deps.keys.verifyPublishableKey(publishableKey);
    if (!publishableKey || !check.ok || !check.tenant.origins.includes(parent)) {
      return {
        ok: false,
        refusal: { reason: check.ok ? 'origin' : check.reason, message: 'This studio is not available on this site.' },
      };
    }
    return { ok: true, principal: { kind: 'embed', tenant: check.tenant, parent, publishableKey } };
  });
}
