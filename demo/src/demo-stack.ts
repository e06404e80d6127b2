import { createServer } from 'node:net';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { applicationDatabaseUri, loadConfig, resolveAdminToken, startDatabase, type DatabaseServer } from '@atelier/server';
import { spawnSupervised, waitFor, type SupervisedProcess, type SupervisionOptions } from './child-process.js';
import { DEMO_TENANTS, type DemoTenantSpec } from './demo-tenants.js';
import { freePort } from './free-port.js';
import { startStorefront, type Storefront } from './storefront-server.js';

export interface DemoTenant {
  tenantId: string;
  name: string;
  secretKey: string;
  publishableKey: string;
  origin: string;
}

/** `.data/demo.json` (CONTRACT.md). */
export interface DemoManifest {
  server: string;
  storefronts: string[];
  adminToken: string;
  tenants: DemoTenant[];
}

export interface DemoOptions {
  dataDir: string;
  /** 8787 by default; 0 picks a free port (tests). */
  port?: number;
  /** First storefront port (8788 by default; 0 picks free ports). */
  storefrontPort?: number;
  /** Start the runner with the stack (default true). */
  runner?: boolean;
  adminToken?: string;
  modelDir?: string;
  onLog?: (source: string, line: string) => void;
  /** Slow one-time work worth telling a waiting person about. */
  onNotice?: (message: string) => void;
  /** `ferretdb` even when a `mongod` is on PATH (the tests); default: as the server would choose. */
  engine?: 'auto' | 'ferretdb';
  /** More of the server's environment (e.g. the Shopify app's variables). */
  serverEnv?: Record<string, string>;
}

export interface DemoStack {
  manifest: DemoManifest;
  database: DatabaseServer;
  startRunner(): Promise<void>;
  stopRunner(): Promise<void>;
  /** Stops the API server only (storefronts stay up): for "server unreachable" checks. */
  stopServer(): Promise<void>;
  startServer(): Promise<void>;
  /** The server or runner process as it runs now (restarted when it dies), if started. */
  process(name: 'server' | 'runner'): SupervisedProcess | undefined;
  stop(): Promise<void>;
}

const demoRoot = join(dirname(fileURLToPath(import.meta.url)), '..');
const packageDir = (name: string) => dirname(fileURLToPath(import.meta.resolve(`${name}/package.json`)));

/**
 * The whole platform on one machine: the embedded database, the API server and one
 * GPU runner as separate processes, and the storefronts, each on an origin of its own.
 * A server or runner that dies once it is up is restarted, with a note in the log.
 */
export async function startDemoStack(options: DemoOptions): Promise<DemoStack> {
  const port = options.port === 0 ? await freePort() : (options.port ?? 8787);
  const serverUrl = `http://127.0.0.1:${port}`;
  // The same token the server would generate for itself: the one kept in the data dir.
  const adminToken = options.adminToken ?? (await resolveAdminToken(undefined, options.dataDir)).token;
  const log = options.onLog ?? (() => {});
  let stopping = false;
  const supervision: SupervisionOptions = {
    onNote: (message) => log('demo', message),
    stopping: () => stopping,
  };
  const stops: (() => Promise<void>)[] = [];
  const stopAll = async () => {
    stopping = true;
    for (const stop of stops.reverse()) await stop().catch(() => {});
    stops.length = 0;
  };

  try {
    if (options.port !== 0) await assertPortFree(port, 'the API server', 'PORT');
    // The server process reads the same environment; this is where its database comes from.
    const { cacheDir, mongodbUri: externalUri } = loadConfig();
    const database = await startDatabase({
      dataDir: options.dataDir,
      cacheDir,
      mongodbUri: options.engine === 'ferretdb' ? undefined : externalUri,
      engine: options.engine ?? 'auto',
      ...(options.onNotice ? { onNotice: options.onNotice } : {}),
    });
    stops.push(() => database.stop());
    const mongodbUri = applicationDatabaseUri(database);

    let serverProcess: SupervisedProcess | undefined;
    const startServer = async () => {
      const child = spawnSupervised({
        ...supervision,
        name: 'server',
        script: join(packageDir('@atelier/server'), 'dist', 'main.js'),
        env: {
          ...process.env,
          ...options.serverEnv,
          PORT: String(port),
          MONGODB_URI: mongodbUri,
          ATELIER_DATA_DIR: options.dataDir,
          ATELIER_ADMIN_TOKEN: adminToken,
          // The storefronts serve their product photos from 127.0.0.1, which the server
          // fetches only when allowed (product-images.ts; SSRF guard, net/address-policy.ts).
          ATELIER_OUTGOING_ALLOW: process.env.ATELIER_OUTGOING_ALLOW ?? '127.0.0.1',
        },
        onLine: (line) => log('server', line),
      });
      serverProcess = child;
      await waitFor(
        'the server to listen',
        async () => (await fetch(`${serverUrl}/healthz`, { signal: AbortSignal.timeout(2000) })).ok,
        {
          timeoutMs: 60_000,
          process: child,
        },
      );
      child.supervise();
    };
    await startServer();
    stops.push(() => serverProcess?.stop() ?? Promise.resolve());

    const admin = async <T>(method: string, path: string, body?: unknown): Promise<T> => {
      const response = await fetch(`${serverUrl}${path}`, {
        method,
        signal: AbortSignal.timeout(30_000),
        headers: { Authorization: `Bearer ${adminToken}`, 'Content-Type': 'application/json' },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${await response.text()}`);
      return (await response.json()) as T;
    };

    const manifestPath = join(options.dataDir, 'demo.json');
    const previous = await readManifest(manifestPath);
    const tenants: DemoTenant[] = [];
    const storefronts: Storefront[] = [];
    for (const [index, spec] of DEMO_TENANTS.entries()) {
      const storefrontPort = options.storefrontPort === 0 ? 0 : (options.storefrontPort ?? 8788) + index;
      if (storefrontPort !== 0) await assertPortFree(storefrontPort, `storefront ${index + 1}`, 'STOREFRONT_PORT');
      const tenantRef: { current?: DemoTenant } = {};
      const storefront = await startStorefront(join(demoRoot, 'storefront'), storefrontPort, spec, () => ({
        server: serverUrl,
        publishableKey: tenantRef.current?.publishableKey ?? '',
      }));
      stops.push(() => storefront.close());
      storefronts.push(storefront);
      tenantRef.current = await ensureTenant(admin, serverUrl, spec, storefront.origin, previous);
      await configureTenant(serverUrl, tenantRef.current, spec);
      tenants.push(tenantRef.current);
    }

    let runner: SupervisedProcess | undefined;
    const startRunner = async () => {
      const { token } = await admin<{ token: string }>('POST', '/admin/v1/runner-tokens', { name: 'demo runner' });
      const before = await onlineRunners(admin);
      runner = spawnSupervised({
        ...supervision,
        name: 'runner',
        script: join(packageDir('@atelier/gpu-runner'), 'dist', 'main.js'),
        env: {
          ...process.env,
          ATELIER_SERVER_URL: serverUrl,
          ATELIER_RUNNER_TOKEN: token,
          ATELIER_RUNNER_NAME: 'demo-runner',
          ...(options.modelDir ? { ATELIER_MODEL_DIR: options.modelDir } : {}),
        },
        onLine: (line) => log('runner', line),
      });
      const child = runner;
      await waitFor('the runner to connect', async () => (await onlineRunners(admin)) > before, {
        timeoutMs: 180_000,
        process: child,
      });
      child.supervise();
    };
    const stopRunner = async () => {
      await runner?.stop();
      runner = undefined;
    };
    if (options.runner !== false) await startRunner();
    stops.push(stopRunner);

    const manifest: DemoManifest = {
      server: serverUrl,
      storefronts: storefronts.map((s) => s.url),
      adminToken,
      tenants,
    };
    await mkdir(options.dataDir, { recursive: true });
    await writeFile(`${manifestPath}.tmp`, `${JSON.stringify(manifest, null, 2)}\n`, { mode: 0o600 });
    await rename(`${manifestPath}.tmp`, manifestPath);

    return {
      manifest,
      database,
      startRunner,
      stopRunner,
      stopServer: async () => {
        await serverProcess?.stop();
      },
      startServer,
      process: (name) => (name === 'server' ? serverProcess : runner),
      stop: stopAll,
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}

type Admin = <T>(method: string, path: string, body?: unknown) => Promise<T>;

/**
 * Reuses the tenant from the last demo run when its keys still work (so a shopper's
 * earlier pictures are still there); otherwise creates it. Secret keys are stored
 * hashed, so the last run's demo.json is the only place they can come back from.
 */
async function ensureTenant(
  admin: Admin,
  serverUrl: string,
  spec: DemoTenantSpec,
  origin: string,
  previous: DemoManifest | undefined,
): Promise<DemoTenant> {
  const known = previous?.tenants.find((t) => t.name === spec.name);
  if (known) {
    const works = await fetch(`${serverUrl}/v1/generations?limit=1`, {
      headers: { Authorization: `Bearer ${known.secretKey}` },
    }).then(
      (r) => r.ok,
      () => false,
    );
    if (works) {
      if (known.origin !== origin) await admin('PATCH', `/admin/v1/tenants/${known.tenantId}`, { origins: [origin] });
      return { ...known, origin };
    }
  }
  const created = await admin<{ tenantId: string; secretKey: string; publishableKey: string }>('POST', '/admin/v1/tenants', {
    name: spec.name,
    plan: spec.plan,
    origins: [origin],
  });
  return {
    tenantId: created.tenantId,
    name: spec.name,
    secretKey: created.secretKey,
    publishableKey: created.publishableKey,
    origin,
  };
}

/**
 * Sets the shop's styles, branding and strings the way a merchant's backend would: the
 * REST API with the tenant's secret key. A merge patch, so a reused tenant gets the
 * same configuration again (and nothing is written when nothing changed).
 */
async function configureTenant(serverUrl: string, tenant: DemoTenant, spec: DemoTenantSpec): Promise<void> {
  const response = await fetch(`${serverUrl}/v1/config`, {
    method: 'PUT',
    signal: AbortSignal.timeout(30_000),
    headers: { Authorization: `Bearer ${tenant.secretKey}`, 'Content-Type': 'application/json' },
    body: JSON.stringify(spec.config),
  });
  if (!response.ok) throw new Error(`configuring ${spec.name}: PUT /v1/config: ${response.status} ${await response.text()}`);
}

async function onlineRunners(admin: Admin): Promise<number> {
  const { data } = await admin<{ data: { state: string; lastSeenAt: string }[] }>('GET', '/admin/v1/runners');
  return data.filter((r) => r.state !== 'offline').length;
}

/** Fails with a clear line when a fixed port is taken (often: a demo already running). */
async function assertPortFree(port: number, what: string, variable: string): Promise<void> {
  const free = await new Promise<boolean>((resolve) => {
    const probe = createServer();
    probe.once('error', () => resolve(false));
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
  });
  if (!free)
    throw new Error(`port ${port} for ${what} is already in use (is a demo already running?); set ${variable} to use another`);
}

async function readManifest(path: string): Promise<DemoManifest | undefined> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as DemoManifest;
  } catch {
    return undefined;
  }
}
