import type { ImageBody } from '@atelier/protocol';
import { idSchema } from '@atelier/protocol/schemas';
import type { ImageService } from '../../services/image-service.js';
import { callerKey } from '../auth.js';
import { endpoint, type Endpoint } from '../endpoint.js';
import { noBody, noQuery, parse } from '../schemas.js';

/** One generated image (`/v1/images/:id`, secret key): its metadata with a fresh signed URL, or its deletion. */
export function imageEndpoints(deps: { images: ImageService }): Endpoint[] {
  const { images } = deps;
  return [
    endpoint({
      method: 'get',
      path: '/v1/images/:id',
      auth: { secretKey: ['images:read'] },
      input: (req) => {
        noQuery(req.query);
        return parse(idSchema, req.params.id);
      },
      handle: async (id) => ({ body: (await images.get(id)) satisfies ImageBody }),
    }),
    endpoint({
      method: 'delete',
      path: '/v1/images/:id',
      auth: { secretKey: ['images:write'] },
      input: (req, principal) => {
        noQuery(req.query);
        noBody(req.body);
        return { id: parse(idSchema, req.params.id), caller: callerKey(principal) };
      },
      handle: async ({ id, caller }) => {
        await images.delete(id, { kind: 'key', id: caller.id });
        return { status: 204, body: undefined };
      },
    }),
  ];
}
