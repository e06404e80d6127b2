import express, { Router, type Request, type RequestHandler, type Response } from 'express';
import { REALTIME_MAX_FRAME_BYTES, REALTIME_STREAM_PATH } from '@atelier/protocol';
import { AppError, notFound } from '../../errors/app-error.js';
import type { WidgetHub } from '../../realtime/widget-hub.js';

/**
 * The realtime protocol over HTTP, for pages whose network blocks WebSockets
 * (`REALTIME_STREAM_PATH`): the stream itself, and the POSTs that carry the page's
 * messages into it. Admission, session, limits and messages are the socket's own (WidgetHub):
 * the stream accepts the strategies ENTRY_POINTS declares for it (strategy-names.ts). A POST
 * carries no credential of its own: it names a stream an admitted page was handed, and must
 * come from that page's origin.
 */
export function realtimeStreamRoutes(
  hub: Pick<WidgetHub, 'handleStream' | 'post'>,
  /** The per-address rate limit; the stream's own admission and message budget come after it. */
  addressLimit: RequestHandler,
): Router {
  const router = Router();
  router.get(REALTIME_STREAM_PATH, addressLimit, async (req, res) => {
    await hub.handleStream(req, res);
  });
  router.post(
    `${REALTIME_STREAM_PATH}/:id`,
    addressLimit,
    // A text/plain body keeps the POST a "simple" cross-origin request: no preflight.
    express.raw({ type: 'text/plain', limit: REALTIME_MAX_FRAME_BYTES }),
    (req: Request<{ id: string }>, res: Response) => {
      const origin = req.headers.origin;
      if (origin) {
        res.setHeader('Access-Control-Allow-Origin', origin);
        res.setHeader('Vary', 'Origin');
      }
      if (!req.is('text/plain') || !Buffer.isBuffer(req.body)) {
        throw new AppError('unsupported_media_type', 'Send the message as text/plain: its JSON, as on the socket.');
      }
      if (!hub.post(req.params.id, origin, req.body)) throw notFound('That stream');
      res.status(202).end();
    },
  );
  return router;
}
