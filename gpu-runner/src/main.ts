#!/usr/bin/env node
import { basename } from 'node:path';
import { ConfigError, loadRunnerConfig, type RunnerConfig } from './config.js';
import { moduleLogger } from './logging/logger.js';
import { defaultModelDir, ensureModel } from './model/ensure-model.js';
import { SdxlPipeline } from './pipeline/sdxl-pipeline.js';
import { AssetCache } from './runner/asset-cache.js';
import { RunnerClient } from './runner/runner-client.js';

/**
 * `atelier-runner`: loads the model (generating the tiny one when none is configured),
 * then serves jobs from the server until SIGINT/SIGTERM. Configuration: config.ts and
 * README.md's table.
 */
const log = moduleLogger('main');

let config: RunnerConfig;
try {
  config = loadRunnerConfig();
} catch (error) {
  if (error instanceof ConfigError) {
    console.error(`atelier-runner: invalid configuration: ${error.message}`);
    process.exit(1);
  }
  throw error;
}

const modelDir = config.modelDir ?? defaultModelDir();
if (!config.modelDir) await ensureModel(modelDir);
const pipeline = await SdxlPipeline.load(modelDir, { loraBudgetBytes: config.loraMemoryMb * 1024 * 1024 });
log.info({ modelDir, device: pipeline.device }, 'model loaded');

const client = new RunnerClient({
  serverUrl: config.serverUrl,
  token: config.token,
  name: config.name,
  model: basename(modelDir),
  executor: pipeline,
  assets: new AssetCache(config.cacheDir),
});
client.start();

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    // A job in flight is abandoned; the server requeues it when this connection closes.
    void client
      .stop()
      .then(() => pipeline.dispose())
      .then(() => process.exit(0));
  });
}
