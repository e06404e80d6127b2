import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ResolvedJobParams } from '@atelier/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureModel } from '../model/ensure-model.js';
import { MODEL_FILES } from '../model/model-layout.js';
import { tinyLoraFile, tinyLoraLayers, tinyLoraTargets } from '../model/tiny-lora.js';
import { SdxlPipeline } from '../pipeline/sdxl-pipeline.js';
import { LoraSessionCache } from './lora-session-cache.js';
import type { LocalAsset } from '../runner/asset-cache.js';
import { AssetLoras } from './lora-source.js';

let dir: string;
let modelDir: string;
let loraDir: string;
let pipeline: SdxlPipeline;
/** The job files a runner would have fetched: every LoRA of this test, as local files. */
const assets: LocalAsset[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lora-sessions-'));
  modelDir = join(dir, 'model');
  loraDir = join(dir, 'loras');
  await ensureModel(modelDir);
  await mkdir(loraDir);
  const targets = tinyLoraTargets();
  const unetOnly = targets.filter((t) => t.component === 'unet');
  const files: Record<string, Uint8Array> = {
    all: tinyLoraFile(tinyLoraLayers(targets, 4, 1), 'kohya', 4),
    'all-peft': tinyLoraFile(tinyLoraLayers(targets, 4, 1), 'diffusers'),
    'unet-a': tinyLoraFile(tinyLoraLayers(unetOnly, 2, 2), 'diffusers'),
    'unet-b': tinyLoraFile(tinyLoraLayers(unetOnly, 2, 3), 'kohya', 1),
  };
  for (const [id, bytes] of Object.entries(files)) {
    const path = join(loraDir, id);
    await writeFile(path, bytes);
    assets.push({ kind: 'lora', id, path, sha256: createHash('sha256').update(bytes).digest('hex') });
  }
  pipeline = await SdxlPipeline.load(modelDir, { provider: 'cpu' });
});

afterAll(async () => {
  await pipeline.dispose();
  await rm(dir, { recursive: true, force: true });
});

const params = (loras?: ResolvedJobParams['loras']): ResolvedJobParams => ({
  prompt: 'product photo of a leather handbag on a white background, studio lighting',
  width: 128,
  height: 128,
  steps: 4,
  guidance: 6,
  scheduler: 'euler',
  seed: 77,
  imageCount: 1,
  outputFormat: 'png',
  performance: 'speed',
  ...(loras && { loras }),
});

const image = async (loras?: ResolvedJobParams['loras']) => (await pipeline.generate(params(loras), { assets }))[0]!.bytes;

describe('LoRAs in SdxlPipeline', () => {
  it('at weight 0 gives the very image of no LoRA; at other weights a different one, the same for either key style', async () => {
    const none = await image();
    expect((await image([{ id: 'all', weight: 0 }])).equals(none)).toBe(true);
    const full = await image([{ id: 'all', weight: 1 }]);
    expect(full.equals(none)).toBe(false);
    expect((await image([{ id: 'all-peft', weight: 1 }])).equals(full)).toBe(true);
    expect((await image([{ id: 'all', weight: -0.5 }])).equals(full)).toBe(false);
    // The base sessions are untouched by the merged ones.
    expect((await image()).equals(none)).toBe(true);
  });

  it("merges into a fast preset's distilled UNet: weight 0 is its own image, weight 1 another", async () => {
    const lightning = (loras?: ResolvedJobParams['loras']): ResolvedJobParams => ({
      ...params(loras),
      performance: 'lightning',
      steps: 4,
      guidance: 1,
      timestepSpacing: 'trailing',
    });
    const run = async (loras?: ResolvedJobParams['loras']) => (await pipeline.generate(lightning(loras), { assets }))[0]!.bytes;
    const distilled = await run();
    expect((await run([{ id: 'unet-a', weight: 0 }])).equals(distilled)).toBe(true);
    const merged = await run([{ id: 'unet-a', weight: 1 }]);
    expect(merged.equals(distilled)).toBe(false);
    // Merged into unet_lightning/, not into the base UNet: the same LoRA on the base UNet
    // with the same sampler gives another image.
    const onBase = (
      await pipeline.generate({ ...lightning([{ id: 'unet-a', weight: 1 }]), performance: 'speed' }, { assets })
    )[0]!;
    expect(onBase.bytes.equals(merged)).toBe(false);
  });

  it('refuses a LoRA that is not among the job files, by id', async () => {
    await expect(image([{ id: 'missing', weight: 1 }])).rejects.toMatchObject({
      code: 'invalid_params',
      message: 'LoRA "missing" is named by the job but was not among its files',
    });
  });

  it('loads the same merge from a model whose UNet keeps its weights in external data', async () => {
    const external = join(dir, 'external-model');
    await ensureModel(external);
    await toExternalData(join(external, MODEL_FILES.unet));
    const other = await SdxlPipeline.load(external, { provider: 'cpu' });
    try {
      const request = params([{ id: 'unet-a', weight: 0.9 }]);
      const [fromExternal] = await other.generate(request, { assets });
      const [fromInline] = await pipeline.generate(request, { assets });
      expect(fromExternal!.bytes.equals(fromInline!.bytes)).toBe(true);
    } finally {
      await other.dispose();
    }
  });
});

describe('LoraSessionCache', () => {
  it('keeps merged sessions per LoRA set and weights, and evicts the least recently used within its budget', async () => {
    const source = new AssetLoras(assets);
    const probe = new LoraSessionCache({
      modelDir,

      budgetBytes: Infinity,
      sessionOptions: { provider: 'cpu' },
    });
    await probe.sessionsFor([{ id: 'unet-a', weight: 1 }], source);
    const one = probe.bytes;
    await probe.release();
    expect(one).toBeGreaterThan(0);

    const cache = new LoraSessionCache({
      modelDir,

      budgetBytes: Math.floor(2.5 * one),
      sessionOptions: { provider: 'cpu' },
    });
    try {
      const a = await cache.sessionsFor([{ id: 'unet-a', weight: 1 }], source);
      expect(Object.keys(a)).toEqual(['unet']);
      // The same set in another order is the same entry.
      const ab = await cache.sessionsFor(
        [
          { id: 'unet-b', weight: 0.5 },
          { id: 'unet-a', weight: 1 },
        ],
        source,
      );
      expect(
        await cache.sessionsFor(
          [
            { id: 'unet-a', weight: 1 },
            { id: 'unet-b', weight: 0.5 },
          ],
          source,
        ),
      ).toBe(ab);
      expect(cache.size).toBe(2);
      // A third set exceeds 2.5 entries: the least recently used (a, touched before ab) goes.
      const b = await cache.sessionsFor([{ id: 'unet-b', weight: 0.5 }], source);
      expect(cache.size).toBe(2);
      expect(cache.bytes).toBeLessThanOrEqual(Math.floor(2.5 * one));
      expect(await cache.sessionsFor([{ id: 'unet-b', weight: 0.5 }], source)).toBe(b);
      expect(await cache.sessionsFor([{ id: 'unet-a', weight: 1 }], source)).not.toBe(a);
      // Another weight is another merge.
      expect(await cache.sessionsFor([{ id: 'unet-b', weight: 0.6 }], source)).not.toBe(b);
      expect(cache.bytes).toBeLessThanOrEqual(Math.floor(2.5 * one));
    } finally {
      await cache.release();
    }
  });
});

/** Rewrites a graph as a large real export is: every float initializer's bytes in `model.onnx_data`. */
async function toExternalData(path: string): Promise<void> {
  const { default: onnxProto } = await import('onnx-proto');
  const { onnx } = onnxProto;
  const model = onnx.ModelProto.decode(await readFile(path));
  const chunks: Uint8Array[] = [];
  let offset = 0;
  for (const tensor of model.graph?.initializer ?? []) {
    if (tensor.dataType !== onnx.TensorProto.DataType.FLOAT || !tensor.rawData?.length) continue;
    const raw = tensor.rawData;
    chunks.push(raw);
    tensor.externalData = [
      { key: 'location', value: 'model.onnx_data' },
      { key: 'offset', value: String(offset) },
      { key: 'length', value: String(raw.length) },
    ];
    tensor.dataLocation = onnx.TensorProto.DataLocation.EXTERNAL;
    tensor.rawData = new Uint8Array();
    offset += raw.length;
  }
  await writeFile(join(path, '..', 'model.onnx_data'), Buffer.concat(chunks));
  await writeFile(path, onnx.ModelProto.encode(model).finish());
}
