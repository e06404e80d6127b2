import { PLAN_NAMES } from '@atelier/protocol';
import { z } from 'zod';
import type { PlanService } from '../../services/plans.js';
import { endpoint, type Endpoint } from '../endpoint.js';
import { jsonObjectBody, noQuery, parse, planChangesSchema } from '../schemas.js';

const planName = z.enum(PLAN_NAMES, { error: `the plan must be one of ${PLAN_NAMES.join(', ')}` });

/** Plans are platform-owned: only the operator reads and edits them. */
export function planEndpoints(deps: { plans: PlanService }): Endpoint[] {
  const { plans } = deps;
  return [
    endpoint({
      method: 'get',
      path: '/admin/v1/plans',
      auth: 'admin',
      input: (req) => noQuery(req.query),
      handle: async () => ({ body: { data: await plans.list() } }),
    }),
    endpoint({
      method: 'put',
      path: '/admin/v1/plans/:name',
      auth: 'admin',
      input: (req) => {
        noQuery(req.query);
        return { name: parse(planName, req.params.name), changes: parse(planChangesSchema, jsonObjectBody(req.body)) };
      },
      handle: async ({ name, changes }) => ({ body: await plans.update(name, changes, { kind: 'admin' }) }),
    }),
  ];
}
