import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Plugin } from 'vite';
import { DEV_TENANTS_PATH, type DevTenants } from './dev-tenants.js';

/** The part of `.data/demo.json` (written by `npm run demo`) the dev page needs. */
interface DemoManifest {
  server: string;
  adminToken: string;
  tenants: { tenantId: string; name: string; publishableKey: string; origin: string }[];
}

/**
 * Serves the running demo's server and publishable keys to the dev page at
 * `/dev/tenants.json`, after allowing the dev page's origin for each demo tenant
 * (`PATCH /admin/v1/tenants/:id` with the demo's admin token), so the page works
 * against `npm run demo` with no setup. 404 when no demo has run.
 */
export function demoTenants(): Plugin {
  // `npm run demo` writes it into ATELIER_DATA_DIR, `.data` at the repository's root by default.
  const dataDir = process.env['ATELIER_DATA_DIR'] ?? fileURLToPath(new URL('../../.data', import.meta.url));
  const manifestPath = resolve(dataDir, 'demo.json');
  const allowed = new Set<string>();
  return {
    name: 'atelier-demo-tenants',
    configureServer(server) {
      server.middlewares.use(DEV_TENANTS_PATH, (request, response) => {
        const origin = `http://${request.headers.host ?? '127.0.0.1:5173'}`;
        const answer = (status: number, body: unknown): void =>
          void response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
        void (async (): Promise<void> => {
          let demo: DemoManifest;
          try {
            demo = JSON.parse(await readFile(manifestPath, 'utf8')) as DemoManifest;
          } catch {
            return answer(404, { error: `no ${manifestPath}: start \`npm run demo\` first, or pass ?server=…&key=…` });
          }
          for (const tenant of demo.tenants) {
            if (allowed.has(`${tenant.tenantId} ${origin}`)) continue;
            const patched = await fetch(`${demo.server}/admin/v1/tenants/${tenant.tenantId}`, {
              method: 'PATCH',
              headers: { Authorization: `Bearer ${demo.adminToken}`, 'Content-Type': 'application/json' },
              body: JSON.stringify({ origins: [tenant.origin, origin] }),
            }).catch((error: Error) => error);
            if (patched instanceof Error || !patched.ok) {
              const why = patched instanceof Error ? patched.message : `${patched.status} ${await patched.text()}`;
              return answer(502, { error: `allowing ${origin} for ${tenant.name} at ${demo.server}: ${why}` });
            }
            allowed.add(`${tenant.tenantId} ${origin}`);
          }
          const tenants: DevTenants = {
            server: demo.server,
            tenants: demo.tenants.map(({ name, publishableKey }) => ({ name, publishableKey })),
          };
          return answer(200, tenants);
        })();
      });
    },
  };
}
