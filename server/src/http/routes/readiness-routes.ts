import { Router } from 'express';
import type { Readiness } from '../../services/readiness.js';

/**
 * `GET /readyz`, for load balancers and orchestrators: 200 while the deployment can run
 * work, 503 with the reasons otherwise. Unauthenticated like `/healthz`, so it tells
 * only counts of runners and whether the database answers.
 */
export function readinessRoutes(readiness: Readiness): Router {
  const router = Router();
  router.get('/readyz', async (_req, res) => {
    const body = await readiness.check();
    res
      .status(body.ready ? 200 : 503)
      .setHeader('Cache-Control', 'no-store')
      .json(body);
  });
  return router;
}
