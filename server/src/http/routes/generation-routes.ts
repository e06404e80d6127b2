import { z } from 'zod';
import { endpoint, type Endpoint } from '../endpoint.js';
import { callerKey } from '../auth.js';
import type { CreatedGenerationBody, GenerationListBody } from '@atelier/protocol';
import { generationParamsSchema, idSchema } from '@atelier/protocol/schemas';
import { jsonObjectBody, listQuerySchema, noBody, noQuery, parse } from '../schemas.js';
import type { GenerationService } from '../../services/generation-service.js';

const idempotencyKeySchema = z.string().min(1).max(255, 'Idempotency-Key must be at most 255 characters').optional();

export function generationEndpoints(deps: {
  generations: GenerationService;
  cancelOnRunner(runnerId: string, jobId: string, epoch: number): void;
}): Endpoint[] {
  const { generations } = deps;
  return [
    endpoint({
      method: 'post',
      path: '/v1/generations',
      auth: { secretKey: ['generations:write'] },
      input: (req, principal) => {
        noQuery(req.query);
        return {
          params: parse(generationParamsSchema, jsonObjectBody(req.body)),
          idempotencyKey: parse(idempotencyKeySchema, req.get('Idempotency-Key')),
          caller: callerKey(principal),
        };
      },
      handle: async ({ params, idempotencyKey, caller }) => {
        const { generation, queue, created } = await generations.create(params, {
          source: 'api',
          actor: { kind: 'key', id: caller.id },
          ...(idempotencyKey ? { idempotencyKey } : {}),
        });
        return {
          status: 202,
          headers: { 'Idempotent-Replayed': String(!created) },
          body: {
            id: generation._id,
            status: generation.status,
            queue: { position: queue.position, etaSeconds: queue.etaSeconds },
            cost: generation.cost,
          } satisfies CreatedGenerationBody,
        };
      },
    }),
    endpoint({
      method: 'get',
      path: '/v1/generations',
      auth: { secretKey: ['generations:read'] },
      input: (req) => parse(listQuerySchema, req.query),
      handle: async ({ limit, cursor }) => {
        const page = await generations.list(limit, cursor);
        const data = await Promise.all(page.data.map((g) => generations.view(g, { withQueue: false })));
        return { body: { data, nextCursor: page.nextCursor } satisfies GenerationListBody };
      },
    }),
    endpoint({
      method: 'get',
      path: '/v1/generations/:id',
      auth: { secretKey: ['generations:read'] },
      input: (req) => {
        noQuery(req.query);
        return parse(idSchema, req.params.id);
      },
      handle: async (id) => ({ body: await generations.view(await generations.get(id)) }),
    }),
    endpoint({
      method: 'post',
      path: '/v1/generations/:id/cancel',
      auth: { secretKey: ['generations:write'] },
      input: (req) => {
        noQuery(req.query);
        noBody(req.body);
        return parse(idSchema, req.params.id);
      },
      handle: async (id) => {
        const { lease } = await generations.cancel(id);
        if (lease) deps.cancelOnRunner(lease.runnerId, id, lease.epoch);
        return { body: await generations.view(await generations.get(id)) };
      },
    }),
  ];
}
