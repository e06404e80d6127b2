import { hostname } from 'node:os';
import { describe, expect, it } from 'vitest';
import { documentedVariables, variablesRead } from '@atelier/testing';
import { ConfigError, defaultCacheDir, loadRunnerConfig } from './config.js';

const TOKEN = `rt_${'A'.repeat(43)}`;
const VALID_ENV = {
  ATELIER_SERVER_URL: 'https://studio.example/',
  ATELIER_RUNNER_TOKEN: TOKEN,
  ATELIER_MODEL_DIR: 'models/sdxl',
  ATELIER_RUNNER_NAME: 'gpu-01',
  ATELIER_LORA_MEMORY_MB: '512',
  ATELIER_RUNNER_CACHE_DIR: 'cache',
  ATELIER_EXECUTION_PROVIDER: 'cuda',
  ATELIER_PREVIEW_EVERY: '0',
  ATELIER_RUNNER_DRAIN_MS: '0',
  ATELIER_SAFETY_MODEL: 'models/nsfw-vit',
  ATELIER_SAFETY_UNSAFE_CLASSES: '1, porn',
  LOG_LEVEL: 'warn',
};

function refusal(env: Record<string, string>): ConfigError {
  try {
    loadRunnerConfig(env, '/srv/runner');
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('the configuration was accepted');
}

describe('loadRunnerConfig', () => {
  it('needs only a token, and uses the documented defaults', () => {
    expect(loadRunnerConfig({ ATELIER_RUNNER_TOKEN: TOKEN }, '/srv/runner')).toEqual({
      serverUrl: 'http://127.0.0.1:8787',
      token: TOKEN,
      modelDir: undefined,
      name: hostname(),
      loraMemoryMb: 2048,
      cacheDir: defaultCacheDir(),
      provider: 'auto',
      previewEvery: 3,
      drainMs: 60_000,
      safetyModel: undefined,
      unsafeClasses: [],
      logLevel: undefined,
    });
  });

  it('reads valid values', () => {
    expect(loadRunnerConfig(VALID_ENV, '/srv/runner')).toEqual({
      serverUrl: 'https://studio.example',
      token: TOKEN,
      modelDir: '/srv/runner/models/sdxl',
      name: 'gpu-01',
      loraMemoryMb: 512,
      cacheDir: '/srv/runner/cache',
      provider: 'cuda',
      previewEvery: 0,
      drainMs: 0,
      safetyModel: '/srv/runner/models/nsfw-vit',
      unsafeClasses: ['1', 'porn'],
      logLevel: 'warn',
    });
  });

  it.each([
    ['ATELIER_RUNNER_TOKEN', {}, 'is required'],
    ['ATELIER_RUNNER_TOKEN', { ATELIER_RUNNER_TOKEN: 'sk_test_' + 'A'.repeat(43) }, 'is not a runner token'],
    ['ATELIER_RUNNER_TOKEN', { ATELIER_RUNNER_TOKEN: `${TOKEN} ` }, 'is not a runner token'],
    ['ATELIER_SERVER_URL', { ATELIER_RUNNER_TOKEN: TOKEN, ATELIER_SERVER_URL: 'ws://studio.example' }, 'http(s) URL'],
    ['ATELIER_RUNNER_NAME', { ATELIER_RUNNER_TOKEN: TOKEN, ATELIER_RUNNER_NAME: 'n'.repeat(201) }, 'at most 200'],
    ['LOG_LEVEL', { ATELIER_RUNNER_TOKEN: TOKEN, LOG_LEVEL: 'loud' }, 'must be one of'],
    ['ATELIER_EXECUTION_PROVIDER', { ATELIER_RUNNER_TOKEN: TOKEN, ATELIER_EXECUTION_PROVIDER: 'gpu' }, 'auto, cuda, webgpu, cpu'],
    ['ATELIER_PREVIEW_EVERY', { ATELIER_RUNNER_TOKEN: TOKEN, ATELIER_PREVIEW_EVERY: '-1' }, 'integer from 0 to 1000'],
    ['ATELIER_LORA_MEMORY_MB', { ATELIER_RUNNER_TOKEN: TOKEN, ATELIER_LORA_MEMORY_MB: '2GB' }, 'must be an integer'],
    ['ATELIER_RUNNER_DRAIN_MS', { ATELIER_RUNNER_TOKEN: TOKEN, ATELIER_RUNNER_DRAIN_MS: '-1' }, 'integer from 0'],
    ['ATELIER_SAFETY_UNSAFE_CLASSES', { ATELIER_RUNNER_TOKEN: TOKEN, ATELIER_SAFETY_UNSAFE_CLASSES: '1,,2' }, 'comma-separated'],
  ])('stops with one line naming %s', (variable, env, says) => {
    const error = refusal(env);
    expect(error.variable).toBe(variable);
    expect(error.message.startsWith(`${variable}: `)).toBe(true);
    expect(error.message).toContain(says);
    expect(error.message).not.toContain('\n');
  });

  it('takes off as the one value of ATELIER_SAFETY_MODEL that is not a path', () => {
    expect(loadRunnerConfig({ ATELIER_RUNNER_TOKEN: TOKEN, ATELIER_SAFETY_MODEL: 'off' }, '/srv/runner').safetyModel).toBe('off');
  });

  it('names the token but never repeats it', () => {
    const secretish = `rt_${'B'.repeat(40)}`;
    expect(refusal({ ATELIER_RUNNER_TOKEN: secretish }).message).not.toContain(secretish);
  });
});

describe('README.md', () => {
  it("lists every variable the runner's configuration reads", async () => {
    const documented = await documentedVariables();
    const read = new Set([
      ...variablesRead((env) => loadRunnerConfig(env), { ATELIER_RUNNER_TOKEN: TOKEN }),
      ...variablesRead((env) => loadRunnerConfig(env), VALID_ENV),
    ]);
    expect(read.size).toBeGreaterThanOrEqual(7);
    expect([...read].filter((name) => !documented.has(name))).toEqual([]);
  });
});
