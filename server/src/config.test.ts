import { describe, expect, it } from 'vitest';
import { documentedVariables, variablesRead } from '@atelier/testing';
import { ConfigError, loadConfig } from './config.js';

const VALID_ENV = {
  PORT: '9000',
  HOST: '0.0.0.0',
  PUBLIC_URL: 'https://studio.example/',
  ATELIER_DATA_DIR: 'var/atelier',
  MONGODB_URI: 'mongodb+srv://cluster.example/atelier',
  ATELIER_ADMIN_TOKEN: 'a'.repeat(16),
  ATELIER_SIGNING_SECRET: 's'.repeat(32),
  ATELIER_WIDGET_DIR: 'widget',
  ATELIER_CACHE_DIR: '/var/cache/atelier',
  LOG_LEVEL: 'debug',
};

const S3_ENV = {
  ATELIER_STORAGE: 's3',
  ATELIER_S3_BUCKET: 'atelier-files',
  ATELIER_S3_REGION: 'eu-central-1',
  ATELIER_S3_ENDPOINT: 'https://s3.storage.example/',
};

describe('loadConfig', () => {
  it('uses the documented defaults', () => {
    const config = loadConfig({}, '/srv/app');
    expect(config).toMatchObject({
      port: 8787,
      host: '127.0.0.1',
      publicUrl: undefined,
      dataDir: '/srv/app/.data',
      mongodbUri: undefined,
      adminToken: undefined,
      logLevel: undefined,
      runnerBreaker: { failuresToTrip: 3, cooldownMs: 60_000, maxCooldownMs: 900_000 },
      storage: { kind: 'filesystem' },
    });
  });

  it('reads the S3 storage settings, with us-east-1 and AWS itself (no endpoint) by default', () => {
    expect(loadConfig(S3_ENV).storage).toEqual({
      kind: 's3',
      bucket: 'atelier-files',
      region: 'eu-central-1',
      endpoint: 'https://s3.storage.example',
    });
    expect(loadConfig({ ATELIER_STORAGE: 's3', ATELIER_S3_BUCKET: 'atelier-files' }).storage).toEqual({
      kind: 's3',
      bucket: 'atelier-files',
      region: 'us-east-1',
      endpoint: undefined,
    });
  });

  it('reads valid values', () => {
    const config = loadConfig(VALID_ENV, '/srv/app');
    expect(config).toMatchObject({
      logLevel: 'debug',
      host: '0.0.0.0',
      widgetDir: '/srv/app/widget',
      cacheDir: '/var/cache/atelier',
      port: 9000,
      publicUrl: 'https://studio.example',
      dataDir: '/srv/app/var/atelier',
      mongodbUri: 'mongodb+srv://cluster.example/atelier',
    });
  });

  it.each([
    ['PORT', { PORT: 'eighty' }],
    ['PORT', { PORT: '70000' }],
    ['PUBLIC_URL', { PUBLIC_URL: 'ftp://studio.example' }],
    ['PUBLIC_URL', { PUBLIC_URL: 'not a url' }],
    ['MONGODB_URI', { MONGODB_URI: 'postgres://db' }],
    ['ATELIER_ADMIN_TOKEN', { ATELIER_ADMIN_TOKEN: 'short' }],
    ['ATELIER_SIGNING_SECRET', { ATELIER_SIGNING_SECRET: 'too-short' }],
    ['ATELIER_RUNNER_LEASE_MS', { ATELIER_RUNNER_LEASE_MS: '5000', ATELIER_RUNNER_HEARTBEAT_MS: '5000' }],
    ['ATELIER_DISPATCH_POLL_MS', { ATELIER_DISPATCH_POLL_MS: '1e3' }],
    ['ATELIER_HELLO_TIMEOUT_MS', { ATELIER_HELLO_TIMEOUT_MS: '0' }],
    ['ATELIER_RUNNER_FAILURES_TO_TRIP', { ATELIER_RUNNER_FAILURES_TO_TRIP: '0' }],
    ['ATELIER_RUNNER_MAX_COOLDOWN_MS', { ATELIER_RUNNER_COOLDOWN_MS: '60000', ATELIER_RUNNER_MAX_COOLDOWN_MS: '30000' }],
    ['LOG_LEVEL', { LOG_LEVEL: 'verbose' }],
    ['ATELIER_STORAGE', { ATELIER_STORAGE: 'gcs' }],
    ['ATELIER_S3_BUCKET', { ATELIER_STORAGE: 's3' }],
    ['ATELIER_S3_BUCKET', { ATELIER_STORAGE: 's3', ATELIER_S3_BUCKET: 'Upper_Case' }],
    ['ATELIER_S3_REGION', { ATELIER_STORAGE: 's3', ATELIER_S3_BUCKET: 'atelier-files', ATELIER_S3_REGION: 'EU WEST' }],
    ['ATELIER_S3_ENDPOINT', { ATELIER_STORAGE: 's3', ATELIER_S3_BUCKET: 'atelier-files', ATELIER_S3_ENDPOINT: 'minio:9000' }],
  ])('stops with one line naming %s', (variable, env) => {
    let error: unknown;
    try {
      loadConfig(env);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).variable).toBe(variable);
    expect((error as ConfigError).message.startsWith(`${variable}: `)).toBe(true);
    expect((error as ConfigError).message).not.toContain('\n');
  });
});

describe('README.md', () => {
  it("lists every variable the server's configuration reads", async () => {
    const documented = await documentedVariables();
    const read = new Set([
      ...variablesRead((env) => loadConfig(env, '/srv/app')),
      ...variablesRead((env) => loadConfig(env, '/srv/app'), VALID_ENV),
      ...variablesRead((env) => loadConfig(env, '/srv/app'), S3_ENV),
    ]);
    expect(read.size).toBeGreaterThan(10);
    expect([...read].filter((name) => !documented.has(name))).toEqual([]);
  });
});
