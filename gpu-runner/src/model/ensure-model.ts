import { randomBytes } from 'node:crypto';
import { mkdir, readFile, readdir, rename, rm, rmdir, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PERFORMANCE_PRESETS } from '@atelier/protocol';
import { moduleLogger } from '../logging/logger.js';
import { formatMerges, trainClipBpe } from './bpe-trainer.js';
import {
  modelIndex,
  schedulerConfig,
  textEncoderConfig,
  tokenizerConfigs,
  unetConfig,
  vaeDecoderConfig,
} from './model-config-files.js';
import { missingModelFiles } from './model-layout.js';
import { PRODUCT_PHOTO_CORPUS } from './product-corpus.js';
import { buildTextEncoder } from './tiny-text-encoder.js';
import { CROSS_ATTENTION_DIM, TINY_MODEL_STAMP, TINY_MODEL_VERSION, TINY_SDXL } from './tiny-model-spec.js';
import { buildUnet } from './tiny-unet.js';
import { buildOutputClassifier, outputClassifierConfig, outputClassifierPreprocessor } from './tiny-classifier.js';
import { buildSegmenter } from './tiny-segmenter.js';
import { buildUpscaler } from './tiny-upscaler.js';
import { buildVaeDecoder } from './tiny-vae-decoder.js';
import { buildVaeEncoder } from './tiny-vae-encoder.js';

const log = moduleLogger('model');

/** `<gpu-runner package>/models/tiny-sdxl` (git-ignored); the same from src/ and dist/. */
export function defaultModelDir(): string {
  return fileURLToPath(new URL('../../models/tiny-sdxl', import.meta.url));
}

export interface EnsureModelResult {
  dir: string;
  /** True when this call wrote the model, false when a complete one was already there. */
  generated: boolean;
}

/**
 * Makes sure `dir` holds a complete model, generating the tiny one when `dir` does not
 * exist. The model is written to a sibling temp directory and renamed into place, so a
 * crash never leaves a half-written model where a runner would load it; two processes
 * racing here both end up with the same complete model.
 */
export async function ensureModel(dir: string = defaultModelDir()): Promise<EnsureModelResult> {
  const outdated = await outdatedTinyModel(dir);
  if (!outdated && (await missingModelFiles(dir)).length === 0) return { dir, generated: false };
  if (outdated) {
    // Ours, from an older generator: moved aside, then replaced like a missing one.
    const old = join(dirname(dir), `.${basename(dir)}.old-${process.pid}-${randomBytes(4).toString('hex')}`);
    await rename(dir, old).catch(() => undefined);
    await rm(old, { recursive: true, force: true });
    log.info({ dir }, 'regenerating the tiny model: it was made by an older generator');
  }
  if (await hasEntries(dir)) {
    const missing = await missingModelFiles(dir);
    throw new Error(`${dir} exists but is not a complete SDXL ONNX model; missing: ${missing.join(', ')}`);
  }

  const started = performance.now();
  const temp = join(dirname(dir), `.${basename(dir)}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
  try {
    await writeTinyModel(temp);
    await rmdir(dir).catch(() => undefined); // an empty placeholder directory may stand in the way
    await rename(temp, dir);
  } catch (error) {
    await rm(temp, { recursive: true, force: true });
    // Another process may have won the rename; its model is as good as ours.
    if ((await missingModelFiles(dir)).length === 0) return { dir, generated: false };
    throw error;
  }
  log.info({ dir, ms: Math.round(performance.now() - started) }, 'generated tiny SDXL model');
  return { dir, generated: true };
}

/** Writes the whole tiny model into `dir` (created; must not hold another model). */
export async function writeTinyModel(dir: string): Promise<void> {
  const { vocab, merges } = trainClipBpe(PRODUCT_PHOTO_CORPUS, TINY_SDXL.bpeMerges);
  const vocabJson = JSON.stringify(Object.fromEntries(vocab));
  const mergesTxt = formatMerges(merges);
  const seed = TINY_SDXL.seed;
  const files: [string, string | Uint8Array][] = [
    ['model_index.json', json(modelIndex())],
    ['scheduler/scheduler_config.json', json(schedulerConfig())],
    ['text_encoder/config.json', json(textEncoderConfig(vocab.size, false))],
    ['text_encoder_2/config.json', json(textEncoderConfig(vocab.size, true))],
    ['unet/config.json', json(unetConfig())],
    ['vae_decoder/config.json', json(vaeDecoderConfig())],
    [
      'text_encoder/model.onnx',
      buildTextEncoder({ vocabSize: vocab.size, maxPositions: TINY_SDXL.maxPositions, ...TINY_SDXL.textEncoder }, seed + 1),
    ],
    [
      'text_encoder_2/model.onnx',
      buildTextEncoder({ vocabSize: vocab.size, maxPositions: TINY_SDXL.maxPositions, ...TINY_SDXL.textEncoder2 }, seed + 2),
    ],
    [
      'unet/model.onnx',
      buildUnet(
        { ...TINY_SDXL.unet, crossAttentionDim: CROSS_ATTENTION_DIM, textEmbedDim: TINY_SDXL.textEncoder2.projection },
        seed + 3,
      ),
    ],
    ['vae_decoder/model.onnx', buildVaeDecoder(TINY_SDXL.vae, seed + 4)],
    // An inpainting UNet (9 input channels), which background mode uses when present.
    ['unet_inpaint/config.json', json(unetConfig(9))],
    [
      'unet_inpaint/model.onnx',
      buildUnet(
        {
          ...TINY_SDXL.unet,
          crossAttentionDim: CROSS_ATTENTION_DIM,
          textEmbedDim: TINY_SDXL.textEncoder2.projection,
          inChannels: 9,
        },
        seed + 9,
      ),
    ],
    ['vae_encoder/config.json', json(vaeDecoderConfig())],
    ['vae_encoder/model.onnx', buildVaeEncoder({ channels: [8, 16, 16], scalingFactor: TINY_SDXL.vae.scalingFactor }, seed + 5)],
    ['upscaler/model.onnx', buildUpscaler({ features: 8, residualScale: 0.05 }, seed + 6)],
    ['segmenter/model.onnx', buildSegmenter()],
    ['output_classifier/model.onnx', buildOutputClassifier()],
    ['output_classifier/config.json', json(outputClassifierConfig())],
    ['output_classifier/preprocessor_config.json', json(outputClassifierPreprocessor())],
    // Stand-ins for the fast presets' distilled UNets (PERFORMANCE_PRESETS' weights), with
    // weights of their own, so every preset runs in tests.
    ...Object.values(PERFORMANCE_PRESETS)
      .flatMap((preset) => (preset.weights ? [preset.weights.unet] : []))
      .map((folder, i): [string, Uint8Array] => [
        `${folder}/model.onnx`,
        buildUnet(
          { ...TINY_SDXL.unet, crossAttentionDim: CROSS_ATTENTION_DIM, textEmbedDim: TINY_SDXL.textEncoder2.projection },
          seed + 5 + i,
        ),
      ]),
  ];
  for (const [folder, pad] of [
    ['tokenizer', '<|endoftext|>'],
    ['tokenizer_2', '!'],
  ] as const) {
    const { config, specialTokens } = tokenizerConfigs(pad);
    files.push(
      [`${folder}/vocab.json`, vocabJson],
      [`${folder}/merges.txt`, mergesTxt],
      [`${folder}/tokenizer_config.json`, json(config)],
      [`${folder}/special_tokens_map.json`, json(specialTokens)],
    );
  }
  files.push([TINY_MODEL_STAMP, `${TINY_MODEL_VERSION}\n`]);
  for (const [relative, content] of files) {
    const path = join(dir, relative);
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, content);
  }
}

/**
 * True for a tiny model written by another version of the generator: one stamped with an
 * older version, or the default directory without a stamp (written before stamps). A model
 * directory a user points at is never ours to replace unless it carries our stamp.
 */
async function outdatedTinyModel(dir: string): Promise<boolean> {
  let stamp: string | undefined;
  try {
    stamp = (await readFile(join(dir, TINY_MODEL_STAMP), 'utf8')).trim();
  } catch {
    stamp = undefined;
  }
  if (stamp !== undefined) return stamp !== String(TINY_MODEL_VERSION);
  return dir === defaultModelDir() && (await hasEntries(dir));
}

function json(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

async function hasEntries(dir: string): Promise<boolean> {
  try {
    return (await readdir(dir)).length > 0;
  } catch {
    return false;
  }
}
