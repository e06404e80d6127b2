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
  /** Routers that read their own bodies, mounted before the JSON parser (Shopify's webhooks are signed over the raw bytes). */
  rawBodyRouters?: Router[];
  health(): Promise<unknown>;
}): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', 'loopback');
  // Said here rather than left to the default: `simple` (node:querystring) never builds
  // objects from `a[b]=` or `limit[$gt]=`, so a query value is a string or a list of
  // them; bracketed names are refused outright (rejectUnsafeInput).
  app.set('query parser', 'simple');
  for (const router of parts.rawBodyRouters ?? []) app.use(router);
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

interface RouterLayer {
  route?: { path: string; methods: Record<string, boolean> };
  handle?: { stack?: RouterLayer[] };
}

/**
 * Every route the app answers, as `METHOD /path`: the endpoints and the routers mounted
 * beside them alike. Read from Express's own route table, so that what the isolation
 * and injection tests enumerate is what is served, not a list kept by hand.
 */
export function listRoutes(app: Express): string[] {
  const walk = (stack: RouterLayer[]): string[] =>
    stack.flatMap((layer) => {
      if (layer.route) {
        const { path, methods } = layer.route;
        return Object.keys(methods)
          .filter((method) => method !== '_all')
          .map((method) => `${method.toUpperCase()} ${path}`);
      }
      return layer.handle?.stack ? walk(layer.handle.stack) : [];
    });
  return walk((app as unknown as { router: { stack: RouterLayer[] } }).router.stack);
}
