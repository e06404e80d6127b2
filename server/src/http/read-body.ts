import type { Request } from 'express';
import type { AppError } from '../errors/app-error.js';

/**
 * A request body that is a file (an image, a .safetensors), as bytes. Refused with
 * `tooLarge()` as soon as it is known to pass `limit`, by its declared length or while it
 * streams, so an oversized upload is never buffered whole. The app's JSON parser leaves
 * these bodies unread for this.
 */
export async function readFileBody(req: Request, limit: number, tooLarge: () => AppError): Promise<Buffer> {
  const declared = Number(req.get('Content-Length'));
  if (Number.isFinite(declared) && declared > limit) throw tooLarge();
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) {
      req.unpipe();
      throw tooLarge();
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}
