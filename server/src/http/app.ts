import express, { type Express } from 'express';
import { notFoundHandler, problemHandler } from '../errors/problem-handler.js';
import { mount, type Endpoint } from './endpoint.js';
import type { Router } from 'express';

/** The Express app: JSON in, thin declarative routes, problem+json out. */
export function createApp(parts: { endpoints: Endpoint[]; routers: Router[]; health(): Promise<unknown> }): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', 'loopback');
  app.use(express.json({ limit: '100kb', type: ['application/json', 'application/*+json'] }));

  app.get('/healthz', async (_req, res) => {
    res.json(await parts.health());
  });
  for (const router of parts.routers) app.use(router);
  const api = express.Router();
  mount(api, parts.endpoints);
  app.use(api);

  app.use(notFoundHandler);
  app.use(problemHandler);
  return app;
}
