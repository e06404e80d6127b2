#!/usr/bin/env node
import { access } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { ConfigError, loadRunnerConfig, type RunnerConfig } from './config.js';
import { moduleLogger } from './logging/logger.js';
import { defaultModelDir, ensureModel } from './model/ensure-model.js';
import { OPTIONAL_MODEL_FILES } from './model/model-layout.js';
import { providerReport } from './onnx/onnx-session.js';
import { LinearPreviewer, type Previewer } from './pipeline/preview.js';
import { TaesdPreviewer, findTaesdDecoder } from './pipeline/preview-taesd.js';
import { SdxlPipeline } from './pipeline/sdxl-pipeline.js';
import { AssetCache } from './runner/asset-cache.js';
import { runnerCapabilities } from './runner/capabilities.js';
import { RunnerClient } from './runner/runner-client.js';
import { warmUp } from './runner/warm-up.js';

/**
 * `atelier-runner`: loads the model (generating the tiny one when none is configured),
 * warms it up, then serves jobs from the server until SIGINT/SIGTERM (which drain it:
 * see below). Configuration: config.ts and README.md's table.
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

// Fails closed: a runner that would deliver unscreened images must be told so explicitly.
// The generated tiny model carries its own classifier; a real export has none.
const exists = (path: string) =>
  access(path).then(
    () => true,
    () => false,
  );
const classifierSource = config.safetyModel ?? join(modelDir, OPTIONAL_MODEL_FILES.outputClassifier);
if (config.safetyModel !== 'off' && !(await exists(classifierSource))) {
  console.error(
    config.safetyModel === undefined
      ? `atelier-runner: invalid configuration: ATELIER_SAFETY_MODEL is required: ${modelDir} has no output_classifier/; point it at an image classifier (gpu-runner/README.md, "Output classifier"), or set it to off to deliver images unscreened`
      : `atelier-runner: invalid configuration: ATELIER_SAFETY_MODEL: ${classifierSource} does not exist`,
  );
  process.exit(1);
}
if (config.safetyModel === 'off') {
  log.warn("ATELIER_SAFETY_MODEL=off: results are not screened by an output classifier; tenants' nsfwThreshold is not applied");
}
const pipeline = await SdxlPipeline.load(modelDir, {
  provider: config.provider,
  loraBudgetBytes: config.loraMemoryMb * 1024 * 1024,
  outputClassifier: config.safetyModel === 'off' ? 'off' : { source: classifierSource, unsafeClasses: config.unsafeClasses },
});
log.info({ outputClassifier: pipeline.outputClassifier ?? 'off' }, 'output classifier');
const provider = providerReport() ?? { device: pipeline.device, preference: config.provider, fallbacks: [] };
log.info({ modelDir, provider: provider.device, preference: provider.preference, fallbacks: provider.fallbacks }, 'model loaded');

let preview: Previewer | undefined;
if (config.previewEvery > 0) {
  const taesd = await findTaesdDecoder(modelDir);
  preview = taesd
    ? await TaesdPreviewer.load(taesd, config.previewEvery, 'jpeg', { provider: config.provider })
    : new LinearPreviewer(config.previewEvery, 'jpeg');
  log.info({ previews: taesd ? 'taesd' : 'linear', every: config.previewEvery }, 'previews on');
}

// Before hello: the server counts a runner as capacity from then on.
log.info({ ms: Math.round(await warmUp(pipeline)) }, 'warmed up');

const model = basename(modelDir);
const client = new RunnerClient({
  serverUrl: config.serverUrl,
  token: config.token,
  name: config.name,
  model,
  executor: pipeline,
  assets: new AssetCache(config.cacheDir),
  capabilities: () => runnerCapabilities([model], provider),
  ...(preview ? { preview } : {}),
});
client.start();

/**
 * The first SIGTERM/SIGINT drains: no more work is taken, the job in flight finishes (up
 * to ATELIER_RUNNER_DRAIN_MS), then the process exits 0. A second one, or the drain
 * timeout, abandons the job: the server requeues it when the connection closes.
 */
let signals = 0;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    signals += 1;
    if (signals === 1) {
      log.info({ signal, jobId: client.jobInFlight ?? null, drainMs: config.drainMs }, 'draining');
      void client
        .drain(config.drainMs)
        .then((outcome) => {
          if (outcome === 'abandoned') log.warn('job in flight handed back to the server');
          log.info({ outcome }, 'drained');
        })
        .then(() => pipeline.dispose())
        .then(() => (preview instanceof TaesdPreviewer ? preview.release() : undefined))
        .then(() => process.exit(0));
    } else if (signals === 2) {
      log.warn({ signal, jobId: client.jobInFlight ?? null }, 'stopping now: abandoning the job in flight');
      void client.stop();
    }
  });
}
