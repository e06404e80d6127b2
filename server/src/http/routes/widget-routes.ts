import { Router } from 'express';
import { notFound } from '../../errors/app-error.js';

/**
 * `GET /widget.js`: the single-file ESM bundle of `<atelier-studio>`. Storefronts load
 * it cross-origin as a module script, which needs CORS.
 */
export function widgetRoutes(bundlePath: string | undefined): Router {
  const router = Router();
  router.get('/widget.js', (_req, res, next) => {
    if (!bundlePath) return next(notFound('The widget bundle'));
    res.setHeader('Access-Control-Allow-Origin', '*');
    res.setHeader('Cross-Origin-Resource-Policy', 'cross-origin');
    res.sendFile(
      bundlePath,
      {
        headers: { 'Content-Type': 'text/javascript; charset=utf-8', 'Cache-Control': 'public, max-age=300' },
      },
      (error) => {
        if (error) next(notFound('The widget bundle'));
      },
    );
  });
  return router;
}
