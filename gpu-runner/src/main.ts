#!/usr/bin/env node
import { basename } from 'node:path';
import { hostname } from 'node:os';
import { moduleLogger } from './logging/logger.js';
import { defaultModelDir, ensureModel } from './model/ensure-model.js';
import { SdxlPipeline } from './pipeline/sdxl-pipeline.js';
import { RunnerClient } from './runner/runner-client.js';

/**
 * `atelier-runner`: loads the model (generating the tiny one when none is configured),
 * then serves jobs from the server until SIGINT/SIGTERM.
 *
 *   ATELIER_SERVER_URL    http://127.0.0.1:8787 by default
 *   ATELIER_RUNNER_TOKEN  rt_… (required)
 *   ATELIER_MODEL_DIR     an Optimum SDXL ONNX export; default: the generated tiny model
 *   ATELIER_RUNNER_NAME   shown to operators; default: the host name
 */
const log = moduleLogger('main');

function fail(variable: string, message: string): never {
  console.error(`atelier-runner: invalid configuration: ${variable}: ${message}`);
  process.exit(1);
}

const serverUrl = process.env.ATELIER_SERVER_URL ?? 'http://127.0.0.1:8787';
try {
  const protocol = new URL(serverUrl).protocol;
  if (protocol !== 'http:' && protocol !== 'https:') throw new Error(protocol);
} catch {
  fail('ATELIER_SERVER_URL', `must be an http(s) URL (got "${serverUrl}")`);
}
const token = process.env.ATELIER_RUNNER_TOKEN ?? '';
if (!/^rt_[A-Za-z0-9_-]{43}$/.test(token)) {
  fail('ATELIER_RUNNER_TOKEN', 'must be a runner token (rt_…); create one with `npx atelier runner-tokens create`');
}

const modelDir = process.env.ATELIER_MODEL_DIR || defaultModelDir();
if (!process.env.ATELIER_MODEL_DIR) await ensureModel(modelDir);
const pipeline = await SdxlPipeline.load(modelDir);
log.info({ modelDir, device: pipeline.device }, 'model loaded');

const client = new RunnerClient({
  serverUrl,
  token,
  name: process.env.ATELIER_RUNNER_NAME || hostname(),
  model: basename(modelDir),
  executor: pipeline,
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
