import { hostname } from 'node:os';
import { fileURLToPath } from 'node:url';
import { RUNNER_TOKEN_PATTERN } from '@atelier/protocol';
import { ConfigError, absolutePath, httpUrl, integer, logLevel, optional, type Env, type LogLevel } from '@atelier/runtime';
import { PROVIDER_PREFERENCES, type ExecutionProviderPreference } from './onnx/execution-provider.js';

export { ConfigError };

export interface RunnerConfig {
  /** The server's base URL; the runner dials `/v1/runners` on it. */
  serverUrl: string;
  /** `rt_…`, from `npx atelier runner-tokens create`. */
  token: string;
  /** An Optimum SDXL ONNX export; unset: the generated tiny model. */
  modelDir: string | undefined;
  /** Shown to operators (`GET /admin/v1/runners`). */
  name: string;
  /** Merged LoRA graphs kept in memory at most, in MiB (LRU beyond). */
  loraMemoryMb: number;
  /** Where job assets (input images, LoRAs) are cached by their SHA-256. */
  cacheDir: string;
  /** `auto` (CUDA, then WebGPU, then CPU, from what is installed) or one provider, which must work. */
  provider: ExecutionProviderPreference;
  /** A progress preview every this many steps; 0: none. */
  previewEvery: number;
  /**
   * How long a runner told to stop (SIGTERM, SIGINT) lets its job in flight finish
   * before abandoning it to the server, which requeues it; 0: abandon at once.
   */
  drainMs: number;
  /**
   * The output classifier every result must pass: a folder or `.onnx` file
   * (`ATELIER_SAFETY_MODEL`), `off`, or undefined for the model directory's own
   * `output_classifier/` (main.ts refuses to start when it has none).
   */
  safetyModel: string | undefined;
  /** Which of its classes are unsafe, by index or label (`ATELIER_SAFETY_UNSAFE_CLASSES`); empty: by their labels. */
  unsafeClasses: string[];
  /** Unset: `info`, or silent under vitest (the root logger applies it; see @atelier/runtime). */
  logLevel: LogLevel | undefined;
}

/** `<gpu-runner package>/.cache/assets` (git-ignored); the same from src/ and dist/. */
export function defaultCacheDir(): string {
  return fileURLToPath(new URL('../.cache/assets', import.meta.url));
}

/** The most characters of a runner name the server accepts in `hello`. */
const NAME_MAX_LENGTH = 200;

/**
 * Reads the runner's environment: the one place `atelier-runner` reads it. Anything
 * invalid stops start-up with one line naming the variable. Every variable read here is
 * listed in README.md's configuration table.
 */
export function loadRunnerConfig(env: Env = process.env, cwd = process.cwd()): RunnerConfig {
  const serverUrl = httpUrl(env, 'ATELIER_SERVER_URL') ?? 'http://127.0.0.1:8787';
  const token = optional(env, 'ATELIER_RUNNER_TOKEN');
  if (token === undefined || !RUNNER_TOKEN_PATTERN.test(token)) {
    throw new ConfigError(
      'ATELIER_RUNNER_TOKEN',
      `${token === undefined ? 'is required' : 'is not a runner token'}: create one with \`npx atelier runner-tokens create\` (rt_…)`,
    );
  }
  const name = optional(env, 'ATELIER_RUNNER_NAME') ?? hostname();
  if (name.length > NAME_MAX_LENGTH) {
    throw new ConfigError('ATELIER_RUNNER_NAME', `must be at most ${NAME_MAX_LENGTH} characters`);
  }
  return {
    serverUrl,
    token,
    modelDir: absolutePath(env, 'ATELIER_MODEL_DIR', cwd),
    name,
    loraMemoryMb: integer(env, 'ATELIER_LORA_MEMORY_MB', 2048, 0, 1024 * 1024),
    cacheDir: absolutePath(env, 'ATELIER_RUNNER_CACHE_DIR', cwd) ?? defaultCacheDir(),
    provider: providerPreference(env),
    previewEvery: integer(env, 'ATELIER_PREVIEW_EVERY', 3, 0, 1000),
    drainMs: integer(env, 'ATELIER_RUNNER_DRAIN_MS', 60_000, 0, 24 * 3_600_000),
    safetyModel: optional(env, 'ATELIER_SAFETY_MODEL') === 'off' ? 'off' : absolutePath(env, 'ATELIER_SAFETY_MODEL', cwd),
    unsafeClasses: unsafeClasses(env),
    logLevel: logLevel(env),
  };
}

function unsafeClasses(env: Env): string[] {
  const raw = optional(env, 'ATELIER_SAFETY_UNSAFE_CLASSES');
  if (raw === undefined) return [];
  const names = raw.split(',').map((name) => name.trim());
  if (names.some((name) => name === '' || name.length > 100)) {
    throw new ConfigError(
      'ATELIER_SAFETY_UNSAFE_CLASSES',
      'must be a comma-separated list of class indices or labels, e.g. 1 or nsfw,porn',
    );
  }
  return names;
}

function providerPreference(env: Env): ExecutionProviderPreference {
  const raw = optional(env, 'ATELIER_EXECUTION_PROVIDER') ?? 'auto';
  const known = PROVIDER_PREFERENCES.find((preference) => preference === raw);
  if (!known)
    throw new ConfigError('ATELIER_EXECUTION_PROVIDER', `must be one of ${PROVIDER_PREFERENCES.join(', ')} (got "${raw}")`);
  return known;
}
