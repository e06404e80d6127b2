import { z } from 'zod';
import type { CreditEntryListBody, CreditGrantBody } from '@atelier/protocol';
import { idSchema } from '@atelier/protocol/schemas';
import type { CreditLedger } from '../../services/credit-ledger.js';
import type { TenantService } from '../../services/tenant-service.js';
import { endpoint, type Endpoint } from '../endpoint.js';
import { creditEntriesQuerySchema, creditGrantSchema, jsonObjectBody, noQuery, parse, usageQuerySchema } from '../schemas.js';

const idempotencyKeySchema = z.string().min(1).max(255, 'Idempotency-Key must be at most 255 characters').optional();

/** A tenant's credits: its own view (secret key) and the operator's grants (admin token). */
export function creditEndpoints(deps: { ledger: CreditLedger; tenants: TenantService }): Endpoint[] {
  const { ledger, tenants } = deps;
  return [
    endpoint({
      method: 'get',
      path: '/v1/balance',
      auth: { secretKey: ['balance:read'] },
      input: (req) => noQuery(req.query),
      handle: async () => ({ body: await ledger.balance() }),
    }),
    endpoint({
      method: 'get',
      path: '/v1/usage',
      auth: { secretKey: ['usage:read'] },
      input: (req) => parse(usageQuerySchema, req.query),
      handle: async ({ from, to }) => ({ body: await ledger.usage(from, to) }),
    }),
    endpoint({
      method: 'post',
      path: '/admin/v1/tenants/:id/credits',
      auth: 'admin',
      input: (req) => {
        noQuery(req.query);
        return {
          id: parse(idSchema, req.params.id),
          grant: parse(creditGrantSchema, jsonObjectBody(req.body)),
          idempotencyKey: parse(idempotencyKeySchema, req.get('Idempotency-Key')),
        };
      },
      handle: async ({ id, grant, idempotencyKey }) => {
        const result = await tenants.within(id, () =>
          ledger.grant({ ...grant, actor: { kind: 'admin' }, ...(idempotencyKey ? { idempotencyKey } : {}) }),
        );
        return {
          status: result.replayed ? 200 : 201,
          headers: { 'Idempotent-Replayed': String(result.replayed) },
          body: { entry: result.entry, balance: result.balance } satisfies CreditGrantBody,
        };
      },
    }),
    endpoint({
      method: 'get',
      path: '/admin/v1/tenants/:id/credits',
      auth: 'admin',
      input: (req) => ({ id: parse(idSchema, req.params.id), query: parse(creditEntriesQuerySchema, req.query) }),
      handle: async ({ id, query }) => ({
        body: await tenants.within(id, async (): Promise<CreditEntryListBody> => ({
          balance: await ledger.balance(),
          ...(await ledger.entries(query.limit, query.cursor)),
        })),
      }),
    }),
  ];
}
