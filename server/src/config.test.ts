import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './config.js';

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
    });
  });

  it('reads valid values', () => {
    const config = loadConfig(
      {
        PORT: '9000',
        PUBLIC_URL: 'https://studio.example/',
        ATELIER_DATA_DIR: 'var/atelier',
        MONGODB_URI: 'mongodb+srv://cluster.example/atelier',
        ATELIER_ADMIN_TOKEN: 'a'.repeat(16),
      },
      '/srv/app',
    );
    expect(config).toMatchObject({
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
