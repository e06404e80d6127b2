import type { Schema, Query, Aggregate, AnyBulkWriteOperation } from 'mongoose';
import { currentScope, TenantScopeError } from './tenant-context.js';

const QUERY_OPERATIONS = [
  'find',
  'findOne',
  'countDocuments',
  'distinct',
  'updateOne',
  'updateMany',
  'replaceOne',
  'deleteOne',
  'deleteMany',
  'findOneAndUpdate',
  'findOneAndDelete',
  'findOneAndReplace',
] as const;

const REPLACE_OPERATIONS = new Set(['replaceOne', 'findOneAndReplace']);

/**
 * Scopes every operation on a tenant-owned model to the tenant in the current async
 * context, and refuses to run one without a scope. Route and service code never
 * write `tenantId` filters by hand; this is the one place isolation is enforced.
 *
 * Covered: every query operation (filter forced to the tenant, updates may not touch
 * `tenantId`, replacements are stamped), aggregate (a leading `$match`), save,
 * insertMany and bulkWrite. `estimatedDocumentCount` cannot be filtered and is refused.
 * The native driver (`Model.collection`) bypasses middleware and is not used.
 */
export function tenantPlugin(schema: Schema): void {
  schema.add({ tenantId: { type: String, required: true, immutable: true, index: true } });

  for (const operation of QUERY_OPERATIONS) {
    schema.pre(operation, function (this: Query<unknown, unknown>) {
      const tenantId = scopedTenant(operation);
      if (tenantId === undefined) return;
      assertSameTenant(this.getFilter().tenantId, tenantId, operation);
      this.where({ tenantId });
      if (REPLACE_OPERATIONS.has(operation)) {
        const replacement = (this.getUpdate() ?? {}) as Record<string, unknown>;
        assertSameTenant(replacement.tenantId, tenantId, operation);
        this.setUpdate({ ...replacement, tenantId });
      } else {
        assertUpdateLeavesTenant(this.getUpdate(), operation);
      }
    });
  }

  schema.pre('estimatedDocumentCount', function () {
    if (currentScope()?.kind !== 'system') {
      throw new TenantScopeError('estimatedDocumentCount cannot be scoped to a tenant; use countDocuments');
    }
  });

  schema.pre('aggregate', function (this: Aggregate<unknown>) {
    const tenantId = scopedTenant('aggregate');
    if (tenantId === undefined) return;
    assertPipelineStaysHome(this.pipeline());
    this.pipeline().unshift({ $match: { tenantId } });
  });

  // Stamped before validation (which runs first and requires tenantId) and checked
  // again before save, in case a caller saves with validation turned off.
  for (const hook of ['validate', 'save'] as const) {
    schema.pre(hook, function (this: { tenantId?: string }) {
      const tenantId = scopedTenant('save');
      if (tenantId === undefined) {
        if (!this.tenantId) throw new TenantScopeError('save in system scope needs an explicit tenantId');
        return;
      }
      assertSameTenant(this.tenantId, tenantId, 'save');
      this.tenantId = tenantId;
    });
  }

  schema.pre('insertMany', function (docs: unknown) {
    const tenantId = scopedTenant('insertMany');
    for (const doc of (Array.isArray(docs) ? docs : [docs]) as Record<string, unknown>[]) {
      if (tenantId === undefined) {
        if (!doc.tenantId) throw new TenantScopeError('insertMany in system scope needs an explicit tenantId');
        continue;
      }
      assertSameTenant(doc.tenantId, tenantId, 'insertMany');
      doc.tenantId = tenantId;
    }
  });

  schema.pre('bulkWrite', function (ops: AnyBulkWriteOperation[]) {
    const tenantId = scopedTenant('bulkWrite');
    if (tenantId === undefined) return;
    for (const op of ops) scopeBulkOperation(op as Record<string, Record<string, unknown>>, tenantId);
  });
}

/** The tenant to scope to; `undefined` in system scope; throws with no scope at all. */
function scopedTenant(operation: string): string | undefined {
  const scope = currentScope();
  if (!scope) throw new TenantScopeError(`refusing to run ${operation} on a tenant-owned model without a tenant scope`);
  return scope.kind === 'tenant' ? scope.tenantId : undefined;
}

function assertSameTenant(value: unknown, tenantId: string, operation: string): void {
  if (value !== undefined && value !== null && value !== tenantId) {
    throw new TenantScopeError(`${operation} tried to write another tenant's tenantId`);
  }
}

/**
 * Stages that read another collection (where the leading `$match` does not reach) or
 * write one: in a tenant's pipeline they would see or touch every tenant's documents.
 */
const FOREIGN_STAGES = new Set([
  '$lookup',
  '$graphLookup',
  '$unionWith',
  '$out',
  '$merge',
  '$documents',
  '$collStats',
  '$indexStats',
  '$currentOp',
  '$listSessions',
]);

function assertPipelineStaysHome(pipeline: unknown[]): void {
  for (const stage of pipeline) {
    if (typeof stage !== 'object' || stage === null) continue;
    for (const [name, body] of Object.entries(stage as Record<string, unknown>)) {
      if (FOREIGN_STAGES.has(name)) throw new TenantScopeError(`aggregate stage ${name} reaches outside the tenant's documents`);
      // $facet runs sub-pipelines: each must stay home too.
      if (name === '$facet' && typeof body === 'object' && body !== null) {
        for (const sub of Object.values(body as Record<string, unknown>)) if (Array.isArray(sub)) assertPipelineStaysHome(sub);
      }
    }
  }
}

const isTenantPath = (path: string) => path === 'tenantId' || path.startsWith('tenantId.');

/**
 * Whether an update (operators, or a plain object mongoose reads as `$set`) could write
 * tenantId: a path in it, a dotted path under it, or a `$rename` to or from it. A
 * pipeline update (an array) can compute any field, so it is refused whole.
 */
function assertUpdateLeavesTenant(update: Record<string, unknown> | unknown[] | null, operation: string): void {
  if (!update) return;
  const refuse = () => new TenantScopeError(`${operation} may not change tenantId`);
  if (Array.isArray(update)) throw new TenantScopeError(`${operation}: pipeline updates are not allowed on tenant-owned models`);
  for (const [key, value] of Object.entries(update)) {
    if (isTenantPath(key)) throw refuse();
    if (!key.startsWith('$') || typeof value !== 'object' || value === null) continue;
    for (const [path, target] of Object.entries(value)) {
      if (isTenantPath(path) || (key === '$rename' && typeof target === 'string' && isTenantPath(target))) throw refuse();
    }
  }
}

function scopeBulkOperation(op: Record<string, Record<string, unknown>>, tenantId: string): void {
  const [kind] = Object.keys(op);
  const body = kind ? op[kind] : undefined;
  if (!kind || !body) return;
  if (kind === 'insertOne') {
    const document = body.document as Record<string, unknown>;
    assertSameTenant(document.tenantId, tenantId, 'bulkWrite');
    document.tenantId = tenantId;
    return;
  }
  const filter = (body.filter ?? {}) as Record<string, unknown>;
  assertSameTenant(filter.tenantId, tenantId, 'bulkWrite');
  body.filter = { ...filter, tenantId };
  if (kind === 'replaceOne') {
    const replacement = body.replacement as Record<string, unknown>;
    assertSameTenant(replacement.tenantId, tenantId, 'bulkWrite');
    body.replacement = { ...replacement, tenantId };
  } else if (kind === 'updateOne' || kind === 'updateMany') {
    assertUpdateLeavesTenant(body.update as Record<string, unknown> | unknown[], 'bulkWrite');
  }
}
