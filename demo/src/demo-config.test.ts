import { describe, expect, it } from 'vitest';
import { ConfigError } from '@atelier/runtime';
import { documentedVariables, variablesRead } from '@atelier/testing';
import { loadDemoConfig } from './demo-config.js';

const VALID_ENV = {
  PORT: '9000',
  STOREFRONT_PORT: '9100',
  ATELIER_DATA_DIR: 'var/demo',
  ATELIER_ADMIN_TOKEN: 'a'.repeat(16),
  ATELIER_MODEL_DIR: '/models/sdxl',
  LOG_LEVEL: 'info',
};

describe('loadDemoConfig', () => {
  it('uses the documented defaults', () => {
    expect(loadDemoConfig({}, '/srv/demo')).toEqual({
      dataDir: '/srv/demo/.data',
      port: 8787,
      storefrontPort: 8788,
      adminToken: undefined,
      modelDir: undefined,
      logLevel: undefined,
    });
  });

  it('reads valid values', () => {
    expect(loadDemoConfig(VALID_ENV, '/srv/demo')).toEqual({
      dataDir: '/srv/demo/var/demo',
      port: 9000,
      storefrontPort: 9100,
      adminToken: 'a'.repeat(16),
      modelDir: '/models/sdxl',
      logLevel: 'info',
    });
  });

  it.each([
    ['PORT', { PORT: 'http' }],
    ['STOREFRONT_PORT', { STOREFRONT_PORT: '70000' }],
    ['STOREFRONT_PORT', { STOREFRONT_PORT: '80a' }],
    // The second storefront takes the next port, which would not exist.
    ['STOREFRONT_PORT', { STOREFRONT_PORT: '65535' }],
    ['ATELIER_ADMIN_TOKEN', { ATELIER_ADMIN_TOKEN: 'short' }],
    ['LOG_LEVEL', { LOG_LEVEL: 'chatty' }],
    // The server's own variables are checked before its process is started.
    ['ATELIER_RUNNER_LEASE_MS', { ATELIER_RUNNER_LEASE_MS: 'long' }],
  ])('stops with one line naming %s', (variable, env) => {
    let error: unknown;
    try {
      loadDemoConfig(env, '/srv/demo');
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).variable).toBe(variable);
    expect((error as ConfigError).message).not.toContain('\n');
  });
});

describe('README.md', () => {
  it("lists every variable the demo's configuration reads", async () => {
    const documented = await documentedVariables();
    const read = new Set([
      ...variablesRead((env) => loadDemoConfig(env)),
      ...variablesRead((env) => loadDemoConfig(env), VALID_ENV),
    ]);
    expect(read).toContain('STOREFRONT_PORT');
    expect([...read].filter((name) => !documented.has(name))).toEqual([]);
  });
});
