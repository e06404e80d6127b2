import { AppError } from '../../errors/app-error.js';
import { UPLOAD_LIMITS, UploadService, uploadBody } from '../../services/upload-service.js';
import { readFileBody } from '../read-body.js';
import { noQuery } from '../schemas.js';
import { endpoint, type Endpoint } from '../endpoint.js';

/**
 * `POST /v1/uploads`: the raw image is the body (`Content-Type: image/png|jpeg|webp`),
 * so nothing is base64-inflated. The body is read only after the key and the type are
 * accepted, and never past the size limit.
 */
export function uploadEndpoints(deps: { uploads: UploadService }): Endpoint[] {
  return [
    endpoint({
      method: 'post',
      path: '/v1/uploads',
      auth: { secretKey: ['images:write'] },
      input: (req) => {
        noQuery(req.query);
        return { format: UploadService.formatOf(req.get('Content-Type')), req };
      },
      handle: async ({ format, req }) => {
        const upload = await deps.uploads.create(format, await readFileBody(req, UPLOAD_LIMITS.maxBytes, tooLarge));
        return { status: 201, body: uploadBody(upload) };
      },
    }),
  ];
}

function tooLarge(): AppError {
  return new AppError('payload_too_large', `An upload may be at most ${UPLOAD_LIMITS.maxBytes} bytes.`, {
    details: { maxBytes: UPLOAD_LIMITS.maxBytes },
  });
}
