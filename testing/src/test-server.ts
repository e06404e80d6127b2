import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, startServer, type AtelierServer } from '@atelier/server';
import { dropDatabase, freshDatabaseUri } from './test-database.js';

export const TEST_ADMIN_TOKEN = 'test-admin-token-0123456789';
/** Shared by every test server, as every process of one deployment shares its secret. */
export const TEST_SIGNING_SECRET = 'test-signing-secret-0123456789abcdef';

export interface TestServer extends AtelierServer {
  dataDir: string;
  /** The database this server uses; a restart (see `restartTestServer`) uses it again. */
  mongodbUri: string;
  admin(path: string, body?: unknown): Promise<Response>;
  api(
    secretKey: string,
    path: string,
    init?: { method?: string; body?: unknown; headers?: Record<string, string> },
  ): Promise<Response>;
  createTenant(input?: {
    name?: string;
    plan?: string;
    origins?: string[];
  }): Promise<{ tenantId: string; secretKey: string; publishableKey: string }>;
  createRunnerToken(): Promise<string>;
  stop(): Promise<void>;
}

export interface TestServerOptions {
  /** Start on an existing database and data dir (a restart) instead of fresh ones. */
  reuse?: { mongodbUri: string; dataDir: string };
  /** The server's clock for key expiry, rotation grace and shopper sessions (see ServerOptions). */
  now?: () => Date;
  /** Emit the driver's command events (`database.connection.getClient().on('commandStarted')`). */
  monitorCommands?: boolean;
}

/**
 * The real server on a free port, against a database of its own on the run's real
 * database server, with a data dir of its own. Nothing in it is faked.
 */
export async function startTestServer(env: Record<string, string> = {}, options: TestServerOptions = {}): Promise<TestServer> {
  const dataDir = options.reuse?.dataDir ?? (await mkdtemp(join(tmpdir(), 'atelier-test-')));
  const mongodbUri = options.reuse?.mongodbUri ?? freshDatabaseUri();
  const config = loadConfig({
    PORT: '0',
    ATELIER_DATA_DIR: dataDir,
    ATELIER_ADMIN_TOKEN: TEST_ADMIN_TOKEN,
    ATELIER_SIGNING_SECRET: TEST_SIGNING_SECRET,
    ATELIER_DISPATCH_POLL_MS: '200',
    ...env,
  });
  const uri = options.monitorCommands ? `${mongodbUri}${mongodbUri.includes('?') ? '&' : '?'}monitorCommands=true` : mongodbUri;
  const server = await startServer({ ...config, mongodbUri: uri }, options.now ? { now: options.now } : {});
  // PUBLIC_URL defaults to the configured port (0); signed URLs must name the real one.
  const base = server.url;

  const admin = (path: string, body?: unknown) =>
    fetch(new URL(path, base), {
      method: body === undefined ? 'GET' : 'POST',
      headers: { Authorization: `Bearer ${TEST_ADMIN_TOKEN}`, 'Content-Type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });

  return {
    ...server,
    dataDir,
    mongodbUri,
    admin,
    api: (secretKey, path, init = {}) =>
      fetch(new URL(path, base), {
        method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
        headers: { Authorization: `Bearer ${secretKey}`, 'Content-Type': 'application/json', ...init.headers },
        ...(init.body === undefined ? {} : { body: typeof init.body === 'string' ? init.body : JSON.stringify(init.body) }),
      }),
    async createTenant(input = {}) {
      const response = await admin('/admin/v1/tenants', {
        name: input.name ?? 'Test Shop',
        plan: input.plan ?? 'pro',
        origins: input.origins ?? ['http://shop.test'],
      });
      if (response.status !== 201) throw new Error(`createTenant: ${response.status} ${await response.text()}`);
      return (await response.json()) as { tenantId: string; secretKey: string; publishableKey: string };
    },
    async createRunnerToken() {
      const response = await admin('/admin/v1/runner-tokens', { name: 'test' });
      if (response.status !== 201) throw new Error(`createRunnerToken: ${response.status}`);
      return ((await response.json()) as { token: string }).token;
    },
    async stop() {
      await server.close();
      await dropDatabase(mongodbUri);
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * Closes `previous` (as a shutdown would; its database and data dir stay) and starts a
 * new server on the same database and data dir, so the signing secret is the same too.
 */
export async function restartTestServer(previous: TestServer, env: Record<string, string> = {}): Promise<TestServer> {
  await previous.close();
  return startTestServer(env, { reuse: { mongodbUri: previous.mongodbUri, dataDir: previous.dataDir } });
}
