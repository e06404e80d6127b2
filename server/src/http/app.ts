import express, { type Express } from 'express';
import { notFoundHandler, problemHandler } from '../errors/problem-handler.js';
import type { Authenticators } from './auth.js';
import { mount, type Endpoint } from './endpoint.js';
import { rejectUnsafeInput } from './unsafe-input.js';
import type { Router } from 'express';

/** The Express app: JSON in, thin declarative routes, problem+json out. */
export function createApp(parts: {
  endpoints: Endpoint[];
  auth: Authenticators;
  routers: Router[];
  health(): Promise<unknown>;
}): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', 'loopback');
  // Said here rather than left to the default: `simple` (node:querystring) never builds
  // objects from `a[b]=` or `limit[$gt]=`, so a query value is a string or a list of
  // them; bracketed names are refused outright (rejectUnsafeInput).
  app.set('query parser', 'simple');
  // `strict: false` parses any JSON value, so a body of `"x"` or `null` is refused as
  // "not an object" (schemas.ts) rather than misreported as invalid JSON.
  app.use(express.json({ limit: '100kb', strict: false, type: ['application/json', 'application/*+json'] }));
  app.use(rejectUnsafeInput);

  app.get('/healthz', async (_req, res) => {
    res.json(await parts.health());
  });
  for (const router of parts.routers) app.use(router);
  const api = express.Router();
  mount(api, parts.endpoints, parts.auth);
  app.use(api);

  app.use(notFoundHandler);
  app.use(problemHandler);
  return app;
}
