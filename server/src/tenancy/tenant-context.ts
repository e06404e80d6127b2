import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * Who the current work is for. The tenant is set only from a verified credential
 * (key hash, signed token) at request entry or job start, never from a body or query
 * string. `system` is the platform acting across tenants (authenticating a key,
 * the dispatcher choosing whose job runs next); it always names why.
 */
export type Scope = { kind: 'tenant'; tenantId: string } | { kind: 'system'; reason: string };

const storage = new AsyncLocalStorage<Scope>();

/**
 * Runs `fn` for a tenant and awaits its result inside the scope. The await matters:
 * a mongoose query is lazy and executes when awaited, so returning one unawaited would
 * run it after the scope has ended.
 */
export function runWithTenant<T>(tenantId: string, fn: () => T | PromiseLike<T>): Promise<T> {
  if (!tenantId) throw new Error('runWithTenant needs a tenant id');
  return storage.run({ kind: 'tenant', tenantId }, async () => await fn());
}

export function runAsSystem<T>(reason: string, fn: () => T | PromiseLike<T>): Promise<T> {
  return storage.run({ kind: 'system', reason }, async () => await fn());
}

/** Synchronous entry into a tenant scope, for middleware: everything `fn` starts inherits it. */
export function enterTenantScope(tenantId: string, fn: () => void): void {
  if (!tenantId) throw new Error('enterTenantScope needs a tenant id');
  storage.run({ kind: 'tenant', tenantId }, fn);
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
