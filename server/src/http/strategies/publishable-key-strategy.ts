import type { IncomingMessage } from 'node:http';
import type { Tenant } from '../../models/tenant.model.js';
import type { KeyService, VerifiedKey } from '../../services/key-service.js';
import { CredentialStrategy, type Refusal } from './credential-strategy.js';

/** What a shopper's page is told when its publishable key is refused, at the handshake or later. */
export const INVALID_PUBLISHABLE_KEY = 'This studio is not configured correctly: the publishable key is not valid.';

export interface WidgetPrincipal {
  kind: 'widget';
  tenant: Tenant;
  /** The publishable key it came with: its limit applies, and it must still stand for each generate. */
  key: VerifiedKey;
}

/**
 * `publishable-key`: the widget's handshake (`?key=pk_…`) with the browser's `Origin`,
 * which must be one the tenant allowed or this server's own (the embed page's: the server
 * renders it only for a parent the tenant allowed, and only that parent may frame it, so
 * no other site runs script there). A publishable key is public, so the Origin is what
 * keeps a copied key from working on another site.
 */
export function publishableKeyStrategy(deps: {
  keys: Pick<KeyService, 'verifyPublishableKey'>;
  /** This server's public URL. */
  publicUrl?: () => string;
}): CredentialStrategy<IncomingMessage, WidgetPrincipal, Refusal> {
  const ownOrigin = (): string | undefined => {
    try {
      return deps.publicUrl ? new URL(deps.publicUrl()).origin : undefined;
    } catch {
      return undefined;
    }
  };
  return new CredentialStrategy(async (request: IncomingMessage) => {
    const url = new URL(request.url ?? '/', 'http://localhost');
    const check = await deps.keys.verifyPublishableKey(url.searchParams.get('key') ?? undefined);
    if (!check.ok) {
      return {
        ok: false,
        refusal: { reason: check.reason, message: INVALID_PUBLISHABLE_KEY },
      };
    }
    const origin = request.headers.origin;
    if (!origin || !(check.tenant.origins.includes(origin) || origin === ownOrigin())) {
      return {
        ok: false,
        refusal: { reason: 'origin', message: `This website (${origin ?? 'unknown origin'}) is not allowed to use this studio.` },
      };
    }
    return { ok: true, principal: { kind: 'widget', tenant: check.tenant, key: check.key } };
  });
}
