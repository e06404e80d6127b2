import type { Request } from 'express';
import { z } from 'zod';
import { idSchema } from '@atelier/protocol/schemas';
import { AppError } from '../../errors/app-error.js';
import type { LoraService } from '../../services/lora-service.js';
import { endpoint, type Endpoint } from '../endpoint.js';
import { readFileBody } from '../read-body.js';
import { noBody, noQuery, parse } from '../schemas.js';

const uploadQuerySchema = z.object({ name: z.string().trim().min(1).max(100).optional() }).strict();

/**
 * A tenant's LoRAs (`/v1/loras`, secret key): upload the raw `.safetensors` bytes, list,
 * delete. Generations name them in `loras: [{ id, weight }]`.
 */
export function loraEndpoints(deps: { loras: LoraService }): Endpoint[] {
  const { loras } = deps;
  return [
    endpoint({
      method: 'get',
      path: '/v1/loras',
      auth: { secretKey: ['config:read'] },
      input: (req) => noQuery(req.query),
      handle: async () => ({ body: { data: await loras.list() } }),
    }),
    endpoint({
      method: 'post',
      path: '/v1/loras',
      auth: { secretKey: ['config:write'] },
      input: (req) => ({ req, name: parse(uploadQuerySchema, req.query).name }),
      handle: async ({ req, name }) => {
        const { lora, created } = await loras.create(await readUpload(req, loras.limits.maxBytes), name);
        return { status: created ? 201 : 200, body: lora };
      },
    }),
    endpoint({
      method: 'delete',
      path: '/v1/loras/:id',
      auth: { secretKey: ['config:write'] },
      input: (req) => {
        noQuery(req.query);
        noBody(req.body);
        return parse(idSchema, req.params.id);
      },
      handle: async (id) => ({ body: await loras.delete(id) }),
    }),
  ];
}

/** The `.safetensors` bytes, sent raw as `application/octet-stream`. */
async function readUpload(req: Request, limit: number): Promise<Buffer> {
  if (!req.is('application/octet-stream'))
    throw new AppError(
      'unsupported_media_type',
      'Send the .safetensors file as the body, with Content-Type: application/octet-stream.',
    );
  return readFileBody(req, limit, () => new AppError('payload_too_large', `A LoRA may be at most ${limit} bytes.`));
}
