import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OnnxSession } from '../onnx/onnx-session.js';
import type { TensorData } from '../onnx/tensor-data.js';
import { ensureModel } from './ensure-model.js';

let dir: string;
const sessions: Record<string, OnnxSession> = {};

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tiny-graphs-'));
  await ensureModel(join(dir, 'model'));
  for (const name of ['text_encoder', 'text_encoder_2', 'unet', 'vae_decoder']) {
    sessions[name] = await OnnxSession.create(join(dir, 'model', name, 'model.onnx'), { provider: 'cpu', label: name });
  }
});

afterAll(async () => {
  await Promise.all(Object.values(sessions).map((s) => s.release()));
  await rm(dir, { recursive: true, force: true });
});

const io = (session: OnnxSession, which: 'inputs' | 'outputs') =>
  session[which].map((v) => (v.isTensor ? { name: v.name, type: v.type, shape: [...v.shape] } : { name: v.name }));
const hidden = (count: number, width: number) =>
  Array.from({ length: count + 1 }, (_, i) => ({
    name: `hidden_states.${i}`,
    type: 'float32',
    shape: ['batch_size', 'sequence_length', width],
  }));

describe('tiny model graphs, as onnxruntime reports them', () => {
  it('text_encoder is CLIPTextModel-shaped', () => {
    expect(io(sessions.text_encoder!, 'inputs')).toEqual([
      { name: 'input_ids', type: 'int32', shape: ['batch_size', 'sequence_length'] },
    ]);
    expect(io(sessions.text_encoder!, 'outputs')).toEqual([
      { name: 'last_hidden_state', type: 'float32', shape: ['batch_size', 'sequence_length', 32] },
      { name: 'pooler_output', type: 'float32', shape: ['batch_size', 32] },
      ...hidden(3, 32),
    ]);
  });

  it('text_encoder_2 is CLIPTextModelWithProjection-shaped', () => {
    expect(io(sessions.text_encoder_2!, 'inputs')).toEqual([
      { name: 'input_ids', type: 'int32', shape: ['batch_size', 'sequence_length'] },
    ]);
    expect(io(sessions.text_encoder_2!, 'outputs')).toEqual([
      { name: 'text_embeds', type: 'float32', shape: ['batch_size', 64] },
      { name: 'last_hidden_state', type: 'float32', shape: ['batch_size', 'sequence_length', 64] },
      ...hidden(4, 64),
    ]);
  });

  it('unet takes SDXL text-time conditioning', () => {
    expect(io(sessions.unet!, 'inputs')).toEqual([
      { name: 'sample', type: 'float32', shape: ['batch_size', 4, 'height', 'width'] },
      { name: 'timestep', type: 'float32', shape: ['steps'] },
      { name: 'encoder_hidden_states', type: 'float32', shape: ['batch_size', 'sequence_length', 96] },
      { name: 'text_embeds', type: 'float32', shape: ['batch_size', 64] },
      { name: 'time_ids', type: 'float32', shape: ['batch_size', 6] },
    ]);
    expect(io(sessions.unet!, 'outputs')).toEqual([
      { name: 'out_sample', type: 'float32', shape: ['batch_size', 4, 'height', 'width'] },
    ]);
  });

  it('vae_decoder upsamples 8x', () => {
    expect(io(sessions.vae_decoder!, 'inputs')).toEqual([
      { name: 'latent_sample', type: 'float32', shape: ['batch_size', 4, 'latent_height', 'latent_width'] },
    ]);
    expect(io(sessions.vae_decoder!, 'outputs')).toEqual([
      { name: 'sample', type: 'float32', shape: ['batch_size', 3, 'latent_height * 8', 'latent_width * 8'] },
    ]);
  });
});

const f32 = (data: Float32Array, dims: number[]): TensorData => ({ type: 'float32', data, dims });
const ramp = (n: number, scale = 1) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.37) * scale);
const float = (t: TensorData | undefined) => {
  if (!t || t.type !== 'float32') throw new Error('expected a float32 output');
  return t;
};
const maxAbsDiff = (a: Float32Array, b: Float32Array) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0);

describe('tiny model graphs compute', () => {
  const ids = (tokens: number[]) => {
    const out = new Int32Array(77).fill(0);
    out.set([809, ...tokens, 810]);
    return out;
  };

  it('text encoders pool at the EOS token and depend on the prompt', async () => {
    const input = new Int32Array([...ids([320, 400, 500]), ...ids([320, 401])]);
    const out = await sessions.text_encoder!.run({ input_ids: { type: 'int32', data: input, dims: [2, 77] } });
    const last = float(out.last_hidden_state);
    const pooled = float(out.pooler_output);
    expect(pooled.data.subarray(0, 32)).toEqual(last.data.subarray(4 * 32, 5 * 32)); // EOS at position 4
    expect(pooled.data.subarray(32, 64)).toEqual(last.data.subarray(77 * 32 + 3 * 32, 77 * 32 + 4 * 32));
    expect(maxAbsDiff(pooled.data.subarray(0, 32), pooled.data.subarray(32, 64))).toBeGreaterThan(1e-3);

    const out2 = await sessions.text_encoder_2!.run({ input_ids: { type: 'int32', data: input, dims: [2, 77] } });
    const embeds = float(out2.text_embeds);
    expect(embeds.dims).toEqual([2, 64]);
    expect(maxAbsDiff(embeds.data.subarray(0, 64), embeds.data.subarray(64))).toBeGreaterThan(1e-3);
  });

  it('unet output depends on every input', async () => {
    const base = {
      sample: f32(ramp(4 * 8 * 8), [1, 4, 8, 8]),
      timestep: f32(Float32Array.of(500), [1]),
      encoder_hidden_states: f32(ramp(77 * 96, 0.8), [1, 77, 96]),
      text_embeds: f32(ramp(64, 0.5), [1, 64]),
      time_ids: f32(Float32Array.of(64, 64, 0, 0, 64, 64), [1, 6]),
    };
    const reference = float((await sessions.unet!.run(base)).out_sample).data;
    const perturbed: Record<string, TensorData> = {
      sample: f32(ramp(4 * 8 * 8, 1.1), [1, 4, 8, 8]),
      timestep: f32(Float32Array.of(100), [1]),
      encoder_hidden_states: f32(ramp(77 * 96, -0.8), [1, 77, 96]),
      text_embeds: f32(ramp(64, -0.5), [1, 64]),
      time_ids: f32(Float32Array.of(128, 64, 0, 0, 128, 64), [1, 6]),
    };
    for (const [name, tensor] of Object.entries(perturbed)) {
      const changed = float((await sessions.unet!.run({ ...base, [name]: tensor })).out_sample).data;
      expect({ name, changed: maxAbsDiff(reference, changed) > 1e-4 }).toEqual({ name, changed: true });
    }
  });

  it('vae decoder returns 8x pixels inside [-1, 1] with a spread of values', async () => {
    const out = float((await sessions.vae_decoder!.run({ latent_sample: f32(ramp(4 * 6 * 10, 7), [1, 4, 6, 10]) })).sample);
    expect(out.dims).toEqual([1, 3, 48, 80]);
    const values = Array.from(out.data);
    expect(Math.min(...values)).toBeGreaterThanOrEqual(-1);
    expect(Math.max(...values)).toBeLessThanOrEqual(1);
    expect(Math.max(...values) - Math.min(...values)).toBeGreaterThan(0.5);
  });
});
