import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createShopifyApp, type ShopifyApp } from '@atelier/plugin-shopify';
import type { Config } from './config.js';
import { connectDatabase, type Database } from './db/connect.js';
import { createLogger } from './logging/logger.js';
import { createApp, listRoutes } from './http/app.js';
import { createAuthenticators } from './http/auth.js';
import { Identity } from './http/strategies/identity.js';
import { RestRateLimits } from './http/rate-limit.js';
import { summarise, type Endpoint, type EndpointSummary } from './http/endpoint.js';
import { adminEndpoints } from './http/routes/admin-routes.js';
import { auditEndpoints } from './http/routes/audit-routes.js';
import { configEndpoints } from './http/routes/config-routes.js';
import { creditEndpoints } from './http/routes/credit-routes.js';
import { embedRoutes } from './http/routes/embed-routes.js';
import { fileRoutes } from './http/routes/file-routes.js';
import { realtimeStreamRoutes } from './http/routes/realtime-stream-routes.js';
import { generationEndpoints } from './http/routes/generation-routes.js';
import { imageEndpoints } from './http/routes/image-routes.js';
import { keyEndpoints } from './http/routes/key-routes.js';
import { loraEndpoints } from './http/routes/lora-routes.js';
import { planEndpoints } from './http/routes/plan-routes.js';
import { readinessRoutes } from './http/routes/readiness-routes.js';
import { uploadEndpoints } from './http/routes/upload-routes.js';
import { sessionEndpoints } from './http/routes/session-routes.js';
import { widgetRoutes } from './http/routes/widget-routes.js';
import { webhookEndpoints } from './http/routes/webhook-routes.js';
import type { StoredImage } from './models/generation.model.js';
import { REALTIME_PATH, RUNNER_PATH, type GenerationBody, type HealthBody, type PublicImage } from '@atelier/protocol';
import { Dispatcher } from './queue/dispatcher.js';
import { JobEventRelay } from './queue/job-event-relay.js';
import { JobEvents } from './queue/job-events.js';
import { JobQueue } from './queue/job-queue.js';
import { QueueEstimator } from './queue/queue-estimator.js';
import { QueueWatch } from './queue/queue-watch.js';
import { RunnerRegistry } from './queue/runner-registry.js';
import { ServerInstances } from './queue/server-instances.js';
import { rejectUpgrade } from './realtime/reject-upgrade.js';
import { RunnerHub } from './realtime/runner-hub.js';
import { ResumeTokens } from './realtime/resume-tokens.js';
import { WidgetHub } from './realtime/widget-hub.js';
import { resolveAdminToken } from './services/admin-token.js';
import { AuditLog } from './services/audit-log.js';
import { PlatformAuditLog } from './services/platform-audit-log.js';
import { PromptScreen } from './services/content-policy/prompt-screen.js';
import { CreditLedger } from './services/credit-ledger.js';
import { CreditShortfall } from './services/credit-shortfall.js';
import { ReservationSweeper } from './services/reservation-sweeper.js';
import { GenerationService } from './services/generation-service.js';
import { ImageService } from './services/image-service.js';
import { InputImages } from './services/input-images.js';
import { ProductImages } from './services/product-images.js';
import { IncludedCredits } from './services/included-credits.js';
import { RetentionSweeper } from './services/retention-sweeper.js';
import { newId } from './services/ids.js';
import { KeyService } from './services/key-service.js';
import { DEFAULT_LORA_LIMITS, LoraService } from './services/lora-service.js';
import { PlanService } from './services/plans.js';
import { Readiness } from './services/readiness.js';
import { RateLimits } from './services/rate-limits.js';
import { sharedSecret } from './services/shared-secret.js';
import { shopifyPorts } from './services/shopify-ports.js';
import { extendFullKeys } from './services/full-key-scopes.js';
import { RunnerTokenService } from './services/runner-token-service.js';
import { ShopperSessions } from './services/shopper-sessions.js';
import { TenantConfigService } from './services/tenant-config.js';
import { TenantDeletion } from './services/tenant-deletion.js';
import { TenantService } from './services/tenant-service.js';
import { UploadService } from './services/upload-service.js';
import { createStorage } from './storage/create-storage.js';
import { WebhookDeliverer } from './services/webhooks/webhook-deliverer.js';
import { WebhookDeliveries } from './services/webhooks/webhook-deliveries.js';
import { WebhookEmitter } from './services/webhooks/webhook-emitter.js';
import { WebhookEndpoints } from './services/webhooks/webhook-endpoints.js';
import { AddressPolicy } from './net/address-policy.js';
import { OutgoingHttp } from './net/outgoing-http.js';
import { UrlSigner } from './storage/signed-urls.js';

const log = createLogger('server');

export interface AtelierServer {
  /** Where it listens, e.g. `http://127.0.0.1:8787`. */
  url: string;
  port: number;
  database: Database;
  services: Services;
  /** Every mounted REST route with the credential and scopes it declares (the route table). */
  endpoints: EndpointSummary[];
  /** Every route the HTTP server answers, `METHOD /path`: endpoints and routers (file, widget, health) alike. */
  routes: string[];
  /** The operator's token: `ATELIER_ADMIN_TOKEN`, or the one generated into the data dir. */
  adminToken: string;
  /** The Shopify app, when `SHOPIFY_API_KEY` configures it. */
  shopify: ShopifyApp | undefined;
  close(): Promise<void>;
}

export interface ServerOptions {
  /**
   * The clock that key expiry, rotation grace, `lastUsedAt`, shopper-session expiry and
   * the rate-limit buckets' refill go by. Tests move it; nothing else should.
   */
  now?: () => Date;
}

export type Services = ReturnType<typeof createServices>;

/**
 * The composition root: reads nothing from the environment itself (that is
 * config.ts), builds every service with its dependencies, and wires HTTP and
 * WebSocket entry points to them.
 */
export async function startServer(config: Config & { mongodbUri: string }, options: ServerOptions = {}): Promise<AtelierServer> {
  const admin = await resolveAdminToken(config.adminToken, config.dataDir);
  const database = await connectDatabase(config.mongodbUri);
  const secret = config.signingSecret ?? (await sharedSecret(database.models, 'signing'));
  let publicUrl = config.publicUrl ?? '';
  const services = createServices(config, database, secret, () => publicUrl, { adminToken: admin.token, ...options });
  await services.plans.seed();
  await extendFullKeys(database.models);

  const shopify = config.shopify
    ? createShopifyApp({
        config: config.shopify,
        connection: database.connection,
        publicUrl: () => publicUrl,
        ...(options.now ? { now: options.now } : {}),
        ...shopifyPorts({ ...services, models: database.models }),
      })
    : undefined;

  // A shop with a paid plan buys the credits a job lacks as Shopify usage charges, and
  // gets its plan's credits once per Shopify billing period instead of per calendar month.
  if (shopify) {
    services.creditShortfall.use(shopify.billing);
    services.includedCredits.use(shopify.billing);
  }

  const endpoints = restEndpoints(services);
  const app = createApp({
    endpoints,
    auth: services.auth,
    rawBodyRouters: shopify ? [shopify.webhookRouter] : [],
    routers: [
      ...(shopify ? [shopify.router] : []),
      readinessRoutes(services.readiness),
      widgetRoutes(config.widgetDir ?? defaultWidgetDir()),
      embedRoutes({
        identity: services.identity,
        bundleDir: config.widgetDir ?? defaultWidgetDir(),
        publicUrl: () => publicUrl,
        addressLimit: services.restLimits.addressLimit(),
      }),
      realtimeStreamRoutes(services.widgetHub, services.restLimits.addressLimit()),
      fileRoutes({
        models: database.models,
        storage: services.storage,
        signer: services.signer,
        assets: [services.uploads.assetSource(), services.inputImages.assetSource(), services.loras.assetSource()],
      }),
    ],
    // Liveness: every runner online counts, cooling down or not (readiness is /readyz).
    health: async (): Promise<HealthBody> => ({ ok: true, runners: (await services.registry.census()).online }),
  });

  const server = createServer(app);
  server.on('upgrade', (request, socket, head) => {
    const path = new URL(request.url ?? '/', 'http://localhost').pathname;
    const hub = path === REALTIME_PATH ? services.widgetHub : path === RUNNER_PATH ? services.runnerHub : undefined;
    // Node detaches its own handlers from an upgraded socket: a reset during the
    // handshake must not become an unhandled 'error' that kills the process.
    socket.on('error', (error: NodeJS.ErrnoException) => log.info({ path, code: error.code }, 'upgrade socket error'));
    if (!hub) return rejectUpgrade(socket, 'not_found', `No WebSocket endpoint at ${path}.`);
    hub.handleUpgrade(request, socket, head).catch((error: unknown) => {
      log.error({ err: error, path }, 'upgrade failed');
      rejectUpgrade(socket, 'internal', 'The server could not accept the connection.');
    });
  });

  // Present before the first runner connects, so that the others count its runners.
  await services.instances.start();
  services.events.start();
  await listen(server, config.port, config.host).catch(async (error: unknown) => {
    await services.events.stop();
    await services.instances.stop();
    await database.close();
    throw error;
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://${config.host === '0.0.0.0' ? '127.0.0.1' : config.host}:${port}`;
  publicUrl = config.publicUrl ?? url;
  services.dispatcher.start();
  services.includedCredits.start();
  services.retention.start();
  services.webhookDeliverer.start();
  await shopify?.start();
  log.info({ port, publicUrl, adminToken: admin.path ?? 'ATELIER_ADMIN_TOKEN' }, 'server listening');
  if (admin.created) {
    // Printed this once, where the operator looks when first starting the server; later
    // starts name only the file (above).
    log.warn({ path: admin.path, token: admin.token }, 'ATELIER_ADMIN_TOKEN is not set: generated an admin token for /admin/v1');
  }

  let closing: Promise<void> | undefined;
  return {
    url,
    port,
    database,
    services,
    endpoints: summarise(endpoints),
    routes: listRoutes(app),
    adminToken: admin.token,
    shopify,
    close: () =>
      (closing ??= (async () => {
        services.rateLimits.stop();
        await shopify?.stop();
        await services.widgetHub.close();
        await services.runnerHub.close();
        await services.dispatcher.stop();
        await services.includedCredits.stop();
        await services.retention.stop();
        await services.webhookDeliverer.stop();
        await services.events.stop();
        // After the runner hub has marked this process's runners offline.
        await services.instances.stop();
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        });
        await database.close();
      })()),
  };
}

/** Every REST endpoint the server mounts, in order: the route table (endpoints are data). */
export function restEndpoints(services: Services): Endpoint[] {
  return [
    ...generationEndpoints({ generations: services.generations, cancelOnRunner: services.cancelOnRunner }),
    ...imageEndpoints({ images: services.images }),
    ...keyEndpoints({ keys: services.keys }),
    ...sessionEndpoints({ sessions: services.shopperSessions }),
    ...adminEndpoints({
      tenants: services.tenants,
      deletion: services.deletion,
      runnerTokens: services.runnerTokens,
      runners: services.registry,
    }),
    ...planEndpoints({ plans: services.plans }),
    ...configEndpoints({ configs: services.configs }),
    ...creditEndpoints({ ledger: services.ledger, tenants: services.tenants }),
    ...auditEndpoints({
      audit: services.audit,
      platformAudit: services.platformAudit,
      tenants: services.tenants,
      deletion: services.deletion,
    }),
    ...loraEndpoints({ loras: services.loras }),
    ...uploadEndpoints({ uploads: services.uploads }),
    ...webhookEndpoints({ endpoints: services.webhookEndpoints, deliveries: services.webhookDeliveries }),
  ];
}

function createServices(
  config: Config,
  database: Database,
  secret: string,
  publicUrl: () => string,
  options: ServerOptions & { adminToken: string },
) {
  const { models } = database;
  const serverId = newId('srv');
  const events = new JobEvents(new JobEventRelay({ model: models.JobEventBatch, serverId, pollMs: config.relayPollMs }));
  const storage = createStorage(config.storage, config.dataDir);
  const signer = new UrlSigner(secret, publicUrl, config.signedUrlTtlSeconds);
  // A verified shopper's images are signed for that shopper too (signed-urls.ts).
  const presentImages = (tenantId: string, images: StoredImage[], shopperId?: string | null): PublicImage[] =>
    [...images]
      .sort((a, b) => a.index - b.index)
      .map((image) => ({
        id: image._id,
        url: shopperId
          ? signer.shopperImageUrl(tenantId, shopperId, image._id, image.format)
          : signer.imageUrl(tenantId, image._id, image.format),
        width: image.width,
        height: image.height,
        format: image.format,
        ...(image.productFidelity !== undefined && { productFidelity: image.productFidelity }),
      }));
  const instances: ServerInstances = new ServerInstances({
    models,
    serverId,
    heartbeatMs: config.instanceHeartbeatMs,
    onDead: (deadId) => registry.serverGone(deadId),
  });
  const registry = new RunnerRegistry({ models, aliveServers: () => instances.alive() });
  const audit = new AuditLog({ models, ...(options.now ? { now: options.now } : {}) });
  const ledger = new CreditLedger({ models, audit });
  const platformAudit = new PlatformAuditLog({ models, ...(options.now ? { now: options.now } : {}) });
  const plans = new PlanService({ models, platformAudit });
  const estimator = new QueueEstimator({ models, runners: registry, plans });
  const queueWatch = new QueueWatch({ events, estimator });
  const outgoing = new OutgoingHttp({
    policy: new AddressPolicy(config.outgoingAllow),
    limits: { totalTimeoutMs: config.webhookTimeoutMs },
  });
  const webhookEndpoints = new WebhookEndpoints({ models, outgoing, audit, ...(options.now ? { now: options.now } : {}) });
  const webhookDeliverer = new WebhookDeliverer({
    models,
    outgoing,
    endpoints: webhookEndpoints,
    schedule: config.webhookRetryScheduleMs,
    pollMs: config.webhookPollMs,
    abandonedAfterMs: config.webhookTimeoutMs + 30_000,
    serverId,
    ...(options.now ? { now: options.now } : {}),
  });
  const webhookDeliveries = new WebhookDeliveries({ models, endpoints: webhookEndpoints, wake: () => webhookDeliverer.wake() });
  const webhooks: WebhookEmitter = new WebhookEmitter({
    models,
    view: (job): Promise<GenerationBody> => generations.view(job, { withQueue: false }),
    attemptsPerDelivery: config.webhookRetryScheduleMs.length + 1,
    wake: () => webhookDeliverer.wake(),
    ...(options.now ? { now: options.now } : {}),
  });
  const queue: JobQueue = new JobQueue({
    models,
    events,
    presentImages,
    estimator,
    credits: ledger,
    plans,
    leaseMs: config.leaseMs,
    serverId,
    finished: (job) => webhooks.jobFinished(job),
  });
  const reservations = new ReservationSweeper({
    models,
    ledger,
    expireUnstarted: (tenantId, jobId) => queue.expireUnstarted(tenantId, jobId),
  });
  // An orphaned job waits out its lease and at most a quarter of it more.
  const sweepMs = Math.max(config.dispatchPollMs, Math.floor(config.leaseMs / 4));
  const dispatcher = new Dispatcher(queue, {
    pollMs: config.dispatchPollMs,
    sweepMs,
    work: events,
    repair: {
      everyMs: 30_000,
      run: () =>
        Promise.all([reservations.sweep(), generations.sweepIdempotencyKeys(), webhooks.repair(), webhookDeliverer.prune()]),
    },
  });
  const keys = new KeyService({ models, audit, ...(options.now ? { now: options.now } : {}) });
  const shopperSessions = new ShopperSessions({ models, platformAudit, ...(options.now ? { now: options.now } : {}) });
  const configs = new TenantConfigService({ models, plans, audit });
  const tenants = new TenantService({ models, keys, plans, configs, ledger, audit });
  const deletion = new TenantDeletion({
    models,
    storage,
    shopify: config.shopify,
    ...(options.now ? { now: options.now } : {}),
  });
  const retention = new RetentionSweeper({ models, configs, storage, audit, ...(options.now ? { now: options.now } : {}) });
  const includedCredits = new IncludedCredits({ models, plans, ledger, ...(options.now ? { now: options.now } : {}) });
  const runnerTokens = new RunnerTokenService({ models, platformAudit });
  // Every credential the server accepts, as passport strategies on one Passport instance.
  const identity = new Identity({ keys, adminToken: options.adminToken, shopperSessions, runnerTokens, publicUrl });
  const rateLimits = new RateLimits({
    plans,
    liveProcesses: async () => (await instances.alive()).length,
    // No more often than every 2 s: a short heartbeat is for noticing dead processes fast.
    refreshMs: Math.max(2_000, config.instanceHeartbeatMs),
    shopperPerMinute: config.rateLimitShopperPerMinute,
    widgetAddressPerMinute: config.rateLimitWidgetAddressPerMinute,
    ...(options.now ? { now: options.now } : {}),
  });
  const loras = new LoraService({ models, storage, limits: DEFAULT_LORA_LIMITS });
  const uploads = new UploadService({ models, storage, ...(options.now ? { now: options.now } : {}) });
  const products = new ProductImages({ models, outgoing, uploads, ...(options.now ? { now: options.now } : {}) });
  const inputImages = new InputImages({ models, storage, uploads, products });
  // New work wakes this process's dispatcher and, through the relay, the other processes'.
  const creditShortfall = new CreditShortfall();
  const generations = new GenerationService({
    models,
    queue,
    estimator,
    dispatcher: { notify: () => events.announceWork() },
    presentImages,
    configs,
    loras,
    uploads,
    inputImages,
    runners: registry,
    prompts: new PromptScreen({ audit }),
    ledger,
    shortfall: creditShortfall,
    expireUnstarted: (tenantId, jobId) => queue.expireUnstarted(tenantId, jobId),
    deadlineMs: config.jobDeadlineMs,
    maxQueuedPerTenant: config.maxQueuedPerTenant,
    maxQueued: config.maxQueued,
  });
  const images = new ImageService({ models, storage, queue, audit, presentImages });
  const runnerHub = new RunnerHub({
    identity,
    queue,
    dispatcher,
    registry,
    events,
    serverId,
    storage,
    signer,
    heartbeatMs: config.heartbeatMs,
    leaseMs: config.leaseMs,
    helloTimeoutMs: config.helloTimeoutMs,
    maxSocketsPerAddress: config.maxSocketsPerAddress,
    maxSocketsPerToken: config.maxRunnerSocketsPerToken,
    breaker: config.runnerBreaker,
  });
  const cancelOnRunner = (runnerId: string, jobId: string, epoch: number) => runnerHub.cancel(runnerId, jobId, epoch);
  const readiness = new Readiness({
    ping: () => database.connection.db!.command({ ping: 1 }),
    runners: registry,
  });
  const resumeTokens = new ResumeTokens(secret);
  const widgetHub = new WidgetHub({
    identity,
    keys,
    resumeTokens,
    configs,
    rateLimits,
    ...(options.now ? { now: options.now } : {}),
    generations,
    events,
    queueWatch,
    cancelOnRunner,
    helloTimeoutMs: config.helloTimeoutMs,
    pingMs: config.widgetPingMs,
    maxSocketsPerAddress: config.maxSocketsPerAddress,
    maxSocketsPerTenant: config.maxSocketsPerTenant,
  });
  const restLimits = new RestRateLimits({ limits: rateLimits, addressPerMinute: config.rateLimitAddressPerMinute });
  const auth = createAuthenticators({ identity, limits: restLimits });
  return {
    identity,
    auth,
    restLimits,
    events,
    storage,
    signer,
    registry,
    estimator,
    queue,
    dispatcher,
    instances,
    audit,
    platformAudit,
    keys,
    shopperSessions,
    plans,
    configs,
    ledger,
    creditShortfall,
    includedCredits,
    retention,
    reservations,
    tenants,
    deletion,
    runnerTokens,
    rateLimits,
    loras,
    uploads,
    inputImages,
    generations,
    images,
    runnerHub,
    widgetHub,
    resumeTokens,
    cancelOnRunner,
    readiness,
    webhookEndpoints,
    webhookDeliveries,
    webhookDeliverer,
    webhooks,
  };
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

function defaultWidgetDir(): string | undefined {
  try {
    return dirname(fileURLToPath(import.meta.resolve('@atelier/widget/loader')));
  } catch {
    return undefined;
  }
}
