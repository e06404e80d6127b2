import { readFile } from 'node:fs/promises';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PipelineError } from '../errors/pipeline-error.js';
import { ensureModel } from '../model/ensure-model.js';
import { MODEL_FILES } from '../model/model-layout.js';
import { tinyLoraFile, tinyLoraLayers, tinyLoraTargets, type TinyLoraLayer } from '../model/tiny-lora.js';
import { GraphWeights, dimsOf } from './graph-weights.js';
import { parseLora, type LoraComponent } from './lora-file.js';
import { mergeLoras } from './merge-loras.js';
import { readSafetensors, writeSafetensors } from './safetensors-file.js';

let dir: string;
const graphBytes: Partial<Record<LoraComponent, Uint8Array>> = {};
const FILES = { unet: MODEL_FILES.unet, text_encoder: MODEL_FILES.textEncoder, text_encoder_2: MODEL_FILES.textEncoder2 };

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lora-merge-'));
  await ensureModel(join(dir, 'model'));
  for (const [component, file] of Object.entries(FILES))
    graphBytes[component as LoraComponent] = await readFile(join(dir, 'model', file));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const graph = (component: LoraComponent) => GraphWeights.decode(graphBytes[component]!, component);
const modules = (bytes: Uint8Array) => parseLora(readSafetensors(bytes, 'test LoRA'), 'test LoRA');
const layers = tinyLoraLayers(tinyLoraTargets(), 4, 99);

/** The weight a layer's module path points at, in PyTorch's [out, in·kernel] layout, computed from the raw graph. */
function torchWeight(g: GraphWeights, path: string): { out: number; inner: number; values: Float64Array } {
  const target = g.find({ style: 'diffusers', path });
  if (!target || target === 'ambiguous') throw new Error(`no weight for ${path}`);
  const dims = dimsOf(target.initializer);
  const stored = g.read(target.initializer);
  if (target.layout === 'out-in') return { out: dims[0]!, inner: stored.length / dims[0]!, values: Float64Array.from(stored) };
  const [inWidth, out] = dims as [number, number];
  const values = new Float64Array(stored.length);
  for (let i = 0; i < inWidth; i++) for (let o = 0; o < out; o++) values[o * inWidth + i] = stored[i * out + o]!;
  return { out, inner: inWidth, values };
}

describe('the tiny model is named as an Optimum export', () => {
  it('keeps module paths in node names, with transposed Linear weights under onnx::MatMul_<n> and convs under their own names', () => {
    const unet = graph('unet');
    const toQ = unet.find({ style: 'diffusers', path: 'down_blocks.1.attentions.0.transformer_blocks.0.attn2.to_q' });
    expect(toQ).toMatchObject({ layout: 'in-out', via: '/down_blocks.1/attentions.0/transformer_blocks.0/attn2/to_q/MatMul' });
    expect((toQ as { initializer: { name: string } }).initializer.name).toMatch(/^onnx::MatMul_\d+$/);
    expect(unet.find({ style: 'diffusers', path: 'conv_in' })).toMatchObject({
      layout: 'out-in',
      via: '/conv_in/Conv',
      initializer: { name: 'conv_in.weight' },
    });
    const te2 = graph('text_encoder_2');
    expect(te2.find({ style: 'kohya', flat: 'text_model_encoder_layers_3_mlp_fc2' })).toMatchObject({
      layout: 'in-out',
      via: '/text_model/encoder/layers.3/mlp/fc2/MatMul',
    });
    for (const target of tinyLoraTargets()) expect(graph(target.component).modulePaths).toContain(target.path);
  });
});

describe('mergeLoras', () => {
  it('merges W + weight · (alpha / rank) · up · down into the stored (transposed) weights of all three graphs', () => {
    const bytes = tinyLoraFile(layers, 'kohya', 2);
    for (const component of ['unet', 'text_encoder', 'text_encoder_2'] as const) {
      const base = graph(component);
      const merged = graph(component);
      const changed = mergeLoras(merged, component, [{ id: 'k', weight: 0.7, modules: modules(bytes) }]);
      const own = layers.filter((layer) => layer.component === component);
      expect(changed).toBe(own.length);
      for (const layer of own) {
        const before = torchWeight(base, layer.path);
        const after = torchWeight(merged, layer.path);
        const expected = reference(before.values, before.out, before.inner, layer, 0.7 * (2 / 4));
        let worst = 0;
        for (let i = 0; i < expected.length; i++) worst = Math.max(worst, Math.abs(after.values[i]! - expected[i]!));
        expect(worst, layer.path).toBeLessThanOrEqual(1e-6);
        // The delta is not negligible: the test would see a LoRA left out.
        let moved = 0;
        for (let i = 0; i < expected.length; i++) moved = Math.max(moved, Math.abs(after.values[i]! - before.values[i]!));
        expect(moved, layer.path).toBeGreaterThan(1e-3);
      }
    }
  });

  it('gives the same merged graphs for the same deltas in kohya and diffusers keys', () => {
    const kohya = modules(tinyLoraFile(layers, 'kohya', 4));
    const diffusers = modules(tinyLoraFile(layers, 'diffusers'));
    expect(diffusers.every((m) => m.module.style === 'diffusers' && m.alpha === m.rank)).toBe(true);
    for (const component of ['unet', 'text_encoder', 'text_encoder_2'] as const) {
      const a = graph(component);
      const b = graph(component);
      mergeLoras(a, component, [{ id: 'kohya', weight: 0.8, modules: kohya }]);
      mergeLoras(b, component, [{ id: 'diffusers', weight: 0.8, modules: diffusers }]);
      expect(Buffer.from(a.encode()).equals(Buffer.from(b.encode()))).toBe(true);
      expect(Buffer.from(a.encode()).equals(Buffer.from(graphBytes[component]!))).toBe(false);
    }
  });

  it('names a LoRA key that matches no layer of the graph, and changes nothing', () => {
    const stray: TinyLoraLayer = { ...layers[2]!, path: 'down_blocks.1.attentions.0.transformer_blocks.0.attn1.to_q' };
    const g = graph('unet');
    const merge = () =>
      mergeLoras(g, 'unet', [{ id: 'stray', weight: 1, modules: modules(tinyLoraFile([layers[0]!, stray], 'kohya')) }]);
    expect(merge).toThrow(PipelineError);
    expect(merge).toThrow(
      'LoRA "stray": "lora_unet_down_blocks_1_attentions_0_transformer_blocks_0_attn1_to_q" matches no layer of unet',
    );
    expect(Buffer.from(g.encode()).equals(Buffer.from(graphBytes.unet!))).toBe(true);
  });

  it('refuses factors whose shapes do not fit the layer, naming the layer', () => {
    const wrong: TinyLoraLayer = { ...layers[3]!, path: layers[2]!.path }; // to_k's factors on to_q
    expect(() =>
      mergeLoras(graph('unet'), 'unet', [{ id: 'w', weight: 1, modules: modules(tinyLoraFile([wrong], 'diffusers')) }]),
    ).toThrow(
      /LoRA "w": "unet\.down_blocks\.1\.attentions\.0\.transformer_blocks\.0\.attn2\.to_q" has up \[16,4\] and down \[4,96\], which do not fit the layer's weight \[16,16\]/,
    );
  });
});

describe('parseLora', () => {
  it('refuses keys of no known LoRA style by name', () => {
    const file = writeSafetensors(new Map([['lora_unet_conv_in.hada_w1_a', { shape: [1], data: Float32Array.of(1) }]]));
    expect(() => modules(file)).toThrow('test LoRA: "lora_unet_conv_in.hada_w1_a" is not a LoRA key this runner understands');
  });

  it('reads F16 and BF16 tensors exactly', () => {
    const bytes = writeSafetensors(new Map([['x', { shape: [2], data: Float32Array.of(1.5, -0.25) }]]));
    // Rewrite the header and data as F16 by hand: 1.5 = 0x3e00, -0.25 = 0xb400.
    const header = JSON.stringify({
      x: { dtype: 'F16', shape: [2], data_offsets: [0, 4] },
      y: { dtype: 'BF16', shape: [1], data_offsets: [4, 6] },
    });
    const out = Buffer.alloc(8 + header.length + 6);
    out.writeBigUInt64LE(BigInt(header.length), 0);
    out.write(header, 8);
    out.writeUInt16LE(0x3e00, 8 + header.length);
    out.writeUInt16LE(0xb400, 10 + header.length);
    out.writeUInt16LE(0xc0a0, 12 + header.length); // bf16 -5
    const { tensors } = readSafetensors(out, 'f16');
    expect(Array.from(tensors.get('x')!.data)).toEqual([1.5, -0.25]);
    expect(Array.from(tensors.get('y')!.data)).toEqual([-5]);
    expect(Array.from(readSafetensors(bytes, 'f32').tensors.get('x')!.data)).toEqual([1.5, -0.25]);
  });
});

/** W + scale · up · down, in float64, rounded to float32 as a stored weight is. */
function reference(w: Float64Array, out: number, inner: number, layer: TinyLoraLayer, scale: number): Float64Array {
  const rank = layer.down.shape[0]!;
  const result = new Float64Array(w.length);
  for (let o = 0; o < out; o++) {
    for (let i = 0; i < inner; i++) {
      let delta = 0;
      for (let r = 0; r < rank; r++) delta += layer.up.data[o * rank + r]! * layer.down.data[r * inner + i]!;
      result[o * inner + i] = Math.fround(w[o * inner + i]! + scale * delta);
    }
  }
  return result;
}
