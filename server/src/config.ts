import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseAllowedRanges, type AllowedRange } from './net/address-policy.js';
import type { BreakerPolicy } from './queue/runner-health.js';
import { storageConfig, type StorageConfig } from './storage/storage-config.js';
import { DEFAULT_WEBHOOK_RETRY_SCHEDULE_MS, parseRetrySchedule } from './services/webhooks/retry-schedule.js';
import { loadShopifyConfig, type ShopifyConfig } from '@atelier/plugin-shopify';
import { ConfigError, absolutePath, httpUrl, integer, logLevel, optional, type Env, type LogLevel } from '@atelier/runtime';

export { ConfigError };

export interface Config {
  /** Unset: `info`, or silent under vitest (the root logger applies it; see @atelier/runtime). */
  logLevel: LogLevel | undefined;
  port: number;
  host: string;
  /** Unset: the address the server ends up listening on (so port 0 works). */
  publicUrl: string | undefined;
  dataDir: string;
  /** Unset: the embedded database is started (see db/embedded-database.ts). */
  mongodbUri: string | undefined;
  /** Unset: a token generated once into `<dataDir>/secrets/admin-token` (services/admin-token.ts). */
  adminToken: string | undefined;
  /** Unset: a random secret is created once and kept in the database, shared by every server process on it. */
  signingSecret: string | undefined;
  /** The widget's build directory (its loader and hashed studio); unset: the widget workspace's `dist/bundle`. */
  widgetDir: string | undefined;
  /** Where images, uploads and LoRAs live: `<dataDir>/files` (the default) or an S3 bucket. */
  storage: StorageConfig;
  /** Where FerretDB is built once: `ATELIER_CACHE_DIR`, else `$XDG_CACHE_HOME/atelier`, else `~/.cache/atelier`. */
  cacheDir: string;
  leaseMs: number;
  heartbeatMs: number;
  dispatchPollMs: number;
  /** A socket that has not said hello by then is closed (4408). */
  helloTimeoutMs: number;
  /** How often widget connections are pinged; one missing its pong by the next ping is dropped. */
  widgetPingMs: number;
  /** How long a signed file link (an image, a runner's input) works; a widget asks for fresh ones halfway. */
  signedUrlTtlSeconds: number;
  /** Open widget sockets per client address and per tenant; runner sockets per address and per token. */
  maxSocketsPerAddress: number;
  maxSocketsPerTenant: number;
  maxRunnerSocketsPerToken: number;
  /** REST requests a minute per client address (docs/rate-limits.md). */
  rateLimitAddressPerMinute: number;
  /** Widget `generate` messages a minute per client address, and per shopper. */
  rateLimitWidgetAddressPerMinute: number;
  rateLimitShopperPerMinute: number;
  /** How often this server process tells the others on its database that it is alive. */
  instanceHeartbeatMs: number;
  /** How often it reads the job events other processes relay (while anyone here listens). */
  relayPollMs: number;
  /** Queued jobs beyond which a tenant's new requests get 429, and everyone's get 503. */
  maxQueuedPerTenant: number;
  maxQueued: number;
  /** A job not started this long after it was accepted expires without charge. */
  jobDeadlineMs: number;
  /** When a runner whose jobs keep failing is taken out of rotation, and for how long. */
  runnerBreaker: BreakerPolicy;
  /** Private, loopback or link-local ranges that webhooks may reach anyway (net/address-policy.ts). */
  outgoingAllow: AllowedRange[];
  /** The waits after each failed webhook attempt (services/webhooks/retry-schedule.ts). */
  webhookRetryScheduleMs: readonly number[];
  /** How often each process looks for webhook deliveries it was not told of (its own events and retries wake it). */
  webhookPollMs: number;
  /** The time limit of one webhook request, answer included. */
  webhookTimeoutMs: number;
  /** The Shopify app (plugin-shopify); unset `SHOPIFY_API_KEY` leaves it off. */
  shopify: ShopifyConfig | undefined;
}

/**
 * Reads the environment (CONTRACT.md, "Environment"): the one place the server, the CLI
 * and the demo read it. Anything invalid stops start-up with one line naming the
 * variable. Every variable read here is listed in README.md's configuration table.
 */
export function loadConfig(env: Env = process.env, cwd = process.cwd()): Config {
  const port = integer(env, 'PORT', 8787, 0, 65535);
  const host = optional(env, 'HOST') ?? '127.0.0.1';
  const publicUrl = httpUrl(env, 'PUBLIC_URL');
  const dataDir = absolutePath(env, 'ATELIER_DATA_DIR', cwd) ?? resolve(cwd, '.data');

  const mongodbUri = optional(env, 'MONGODB_URI');
  if (mongodbUri && !/^mongodb(\+srv)?:\/\//.test(mongodbUri)) {
    throw new ConfigError('MONGODB_URI', 'must start with mongodb:// or mongodb+srv://');
  }
  const adminToken = optional(env, 'ATELIER_ADMIN_TOKEN');
  if (adminToken !== undefined && adminToken.length < 16) {
    throw new ConfigError('ATELIER_ADMIN_TOKEN', 'must be at least 16 characters');
  }
  const signingSecret = optional(env, 'ATELIER_SIGNING_SECRET');
  if (signingSecret !== undefined && signingSecret.length < 32) {
    throw new ConfigError('ATELIER_SIGNING_SECRET', 'must be at least 32 characters');
  }
  const heartbeatMs = integer(env, 'ATELIER_RUNNER_HEARTBEAT_MS', 5_000, 100, 600_000);
  const leaseMs = integer(env, 'ATELIER_RUNNER_LEASE_MS', 30_000, 1_000, 3_600_000);
  if (leaseMs <= heartbeatMs * 2) {
    throw new ConfigError('ATELIER_RUNNER_LEASE_MS', 'must be more than twice ATELIER_RUNNER_HEARTBEAT_MS');
  }
  const cooldownMs = integer(env, 'ATELIER_RUNNER_COOLDOWN_MS', 60_000, 100, 86_400_000);
  const maxCooldownMs = integer(env, 'ATELIER_RUNNER_MAX_COOLDOWN_MS', Math.max(cooldownMs, 900_000), 100, 7 * 86_400_000);
  if (maxCooldownMs < cooldownMs) {
    throw new ConfigError('ATELIER_RUNNER_MAX_COOLDOWN_MS', 'must be at least ATELIER_RUNNER_COOLDOWN_MS');
  }
  return {
    logLevel: logLevel(env),
    outgoingAllow: parsed(env, 'ATELIER_OUTGOING_ALLOW', parseAllowedRanges) ?? [],
    webhookRetryScheduleMs:
      parsed(env, 'ATELIER_WEBHOOK_RETRY_SCHEDULE', parseRetrySchedule) ?? DEFAULT_WEBHOOK_RETRY_SCHEDULE_MS,
    webhookPollMs: integer(env, 'ATELIER_WEBHOOK_POLL_MS', 30_000, 10, 600_000),
    webhookTimeoutMs: integer(env, 'ATELIER_WEBHOOK_TIMEOUT_MS', 15_000, 100, 60_000),
    port,
    host,
    publicUrl,
    dataDir,
    mongodbUri,
    adminToken,
    signingSecret,
    widgetDir: absolutePath(env, 'ATELIER_WIDGET_DIR', cwd),
    storage: storageConfig(env),
    cacheDir:
      absolutePath(env, 'ATELIER_CACHE_DIR', cwd) ??
      join(absolutePath(env, 'XDG_CACHE_HOME', cwd) ?? join(homedir(), '.cache'), 'atelier'),
    leaseMs,
    heartbeatMs,
    dispatchPollMs: integer(env, 'ATELIER_DISPATCH_POLL_MS', 2_000, 50, 60_000),
    helloTimeoutMs: integer(env, 'ATELIER_HELLO_TIMEOUT_MS', 5_000, 100, 120_000),
    widgetPingMs: integer(env, 'ATELIER_WIDGET_PING_MS', 30_000, 100, 300_000),
    signedUrlTtlSeconds: integer(env, 'ATELIER_SIGNED_URL_TTL_S', 900, 10, 86_400),
    maxSocketsPerAddress: integer(env, 'ATELIER_MAX_SOCKETS_PER_ADDRESS', 50, 1, 1_000_000),
    maxSocketsPerTenant: integer(env, 'ATELIER_MAX_SOCKETS_PER_TENANT', 2_000, 1, 1_000_000),
    maxRunnerSocketsPerToken: integer(env, 'ATELIER_MAX_RUNNER_SOCKETS_PER_TOKEN', 64, 1, 10_000),
    rateLimitAddressPerMinute: integer(env, 'ATELIER_RPM_PER_ADDRESS', 1_200, 1, 1_000_000),
    rateLimitWidgetAddressPerMinute: integer(env, 'ATELIER_WIDGET_RPM_PER_ADDRESS', 30, 1, 1_000_000),
    rateLimitShopperPerMinute: integer(env, 'ATELIER_WIDGET_RPM_PER_SHOPPER', 10, 1, 1_000_000),
    instanceHeartbeatMs: integer(env, 'ATELIER_INSTANCE_HEARTBEAT_MS', 2_000, 100, 60_000),
    relayPollMs: integer(env, 'ATELIER_RELAY_POLL_MS', 150, 20, 5_000),
    maxQueuedPerTenant: integer(env, 'ATELIER_MAX_QUEUED_PER_TENANT', 1_000, 1, 10_000_000),
    maxQueued: integer(env, 'ATELIER_MAX_QUEUED', 100_000, 1, 100_000_000),
    jobDeadlineMs: integer(env, 'ATELIER_JOB_DEADLINE_MS', 900_000, 1_000, 7 * 86_400_000),
    runnerBreaker: {
      failuresToTrip: integer(env, 'ATELIER_RUNNER_FAILURES_TO_TRIP', 3, 1, 1_000),
      cooldownMs,
      maxCooldownMs,
    },
    shopify: loadShopifyConfig(env),
  };
}

/** An optional variable read by `parse`, whose error message becomes the ConfigError's. */
function parsed<T>(env: Env, name: string, parse: (text: string) => T): T | undefined {
  const text = optional(env, name);
  if (text === undefined) return undefined;
  try {
    return parse(text);
  } catch (error) {
    throw new ConfigError(name, (error as Error).message);
  }
}
