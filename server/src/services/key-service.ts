import { PUBLISHABLE_KEY_PATTERN, SECRET_KEY_PATTERN } from '@atelier/protocol';
import type { Models } from '../models/index.js';
import { runAsSystem, runWithTenant } from '../tenancy/tenant-context.js';
import { newId, newSecret, sha256 } from './ids.js';
import type { Tenant } from '../models/tenant.model.js';

export type KeyMode = 'live' | 'test';

export interface IssuedKeys {
  secretKey: string;
  publishableKey: string;
}

export type KeyCheck = { ok: true; tenant: Tenant; keyId: string } | { ok: false; reason: string };

/** Issues and checks tenants' API keys. Keys are shown once and stored as hashes. */
export class KeyService {
  constructor(private readonly deps: { models: Models }) {}

  async issue(tenantId: string, mode: KeyMode, label = ''): Promise<IssuedKeys> {
    const secretKey = newSecret(`sk_${mode}_`);
    const publishableKey = newSecret(`pk_${mode}_`);
    await runWithTenant(tenantId, () =>
      this.deps.models.ApiKey.insertMany([
        { _id: newId('key'), kind: 'secret', mode, hash: sha256(secretKey), hint: hint(secretKey), label },
        { _id: newId('key'), kind: 'publishable', mode, hash: sha256(publishableKey), hint: hint(publishableKey), label },
      ]),
    );
    return { secretKey, publishableKey };
  }

  verifySecretKey(raw: string | undefined): Promise<KeyCheck> {
    if (!raw || !SECRET_KEY_PATTERN.test(raw)) return Promise.resolve({ ok: false, reason: 'not a secret key' });
    return this.lookup(raw, 'secret');
  }

  verifyPublishableKey(raw: string | undefined): Promise<KeyCheck> {
    if (!raw || !PUBLISHABLE_KEY_PATTERN.test(raw)) return Promise.resolve({ ok: false, reason: 'not a publishable key' });
    return this.lookup(raw, 'publishable');
  }

  // The key is the only thing that identifies the tenant, so this lookup necessarily
  // runs before any tenant is known: it is the one system-scope read on the request path.
  private lookup(raw: string, kind: 'secret' | 'publishable'): Promise<KeyCheck> {
    return runAsSystem(`authenticate ${kind} key`, async () => {
      const { ApiKey, Tenant } = this.deps.models;
      const key = await ApiKey.findOne({ hash: sha256(raw), kind, revokedAt: null }).lean();
      if (!key) return { ok: false as const, reason: 'unknown or revoked key' };
      const tenant = await Tenant.findById(key.tenantId).lean();
      if (!tenant || tenant.status !== 'active') return { ok: false as const, reason: 'tenant is not active' };
      return { ok: true as const, tenant, keyId: key._id };
    });
  }
}

function hint(key: string): string {
  return `${key.slice(0, 8)}…${key.slice(-4)}`;
}
