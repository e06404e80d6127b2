import mongoose from 'mongoose';
import { KEY_SCOPES, type KeyScope } from '@atelier/protocol';
import type { Models } from '../models/index.js';
import { createLogger } from '../logging/logger.js';
import { runAsSystem } from '../tenancy/tenant-context.js';

const { trusted } = mongoose;
const log = createLogger('full-key-scopes');

/**
 * Scopes added to KEY_SCOPES after keys were issued, each with the list there was before
 * it. A key holding every scope of that list was issued as a full key (a tenant's first
 * key, or one made with all of them) and stays one; a key issued with fewer keeps
 * exactly what it was given. Append here when a scope is added.
 */
const ADDED_SCOPES: { scope: KeyScope; before: readonly KeyScope[] }[] = [
  { scope: 'audit:read', before: KEY_SCOPES.filter((scope) => scope !== 'audit:read') },
];

/**
 * Gives full secret keys the scopes added since they were issued (run at start; doing
 * it again changes nothing). Keys stored without scopes (legacy) hold every scope anyway.
 */
export async function extendFullKeys(models: Models): Promise<number> {
  let extended = 0;
  for (const { scope, before } of ADDED_SCOPES) {
    const { modifiedCount } = await runAsSystem(`give full keys the new scope ${scope}`, () =>
      models.ApiKey.updateMany(
        { kind: 'secret', scopes: trusted({ $all: [...before], $nin: [scope] }) },
        { $addToSet: { scopes: scope } },
      ),
    );
    if (modifiedCount > 0) log.info({ scope, keys: modifiedCount }, 'full keys given a new scope');
    extended += modifiedCount;
  }
  return extended;
}
