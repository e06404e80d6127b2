import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * Who the current work is for. The tenant is set only from a verified credential
 * (key hash, signed token) at request entry or job start, never from a body or query
 * string. `system` is the platform acting across tenants (authenticating a key,
 * the dispatcher choosing whose job runs next); it always names why.
 */
export type Scope = { kind: 'tenant'; tenantId: string } | { kind: 'system'; reason: string };

const storage = new AsyncLocalStorage<Scope>();

export function runWithTenant<T>(tenantId: string, fn: () => T): T {
  if (!tenantId) throw new Error('runWithTenant needs a tenant id');
  return storage.run({ kind: 'tenant', tenantId }, fn);
}

export function runAsSystem<T>(reason: string, fn: () => T): T {
  return storage.run({ kind: 'system', reason }, fn);
}

export function currentScope(): Scope | undefined {
  return storage.getStore();
}

/** The current tenant, or a thrown error: code that needs a tenant must not run without one. */
export function requireTenantId(): string {
  const scope = storage.getStore();
  if (scope?.kind !== 'tenant') throw new TenantScopeError('this operation needs a tenant scope');
  return scope.tenantId;
}

export class TenantScopeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TenantScopeError';
  }
}
