import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PipelineError } from '../errors/pipeline-error.js';
import { ensureModel } from '../model/ensure-model.js';
import { planProviders, probeHost } from './execution-provider.js';
import { OnnxSession, providerReport } from './onnx-session.js';

let dir: string;
let session: OnnxSession;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'onnx-session-'));
  await ensureModel(join(dir, 'model'));
  session = await OnnxSession.create(join(dir, 'model', 'vae_decoder', 'model.onnx'), { label: 'vae_decoder' });
});

afterAll(async () => {
  await session.release();
  await rm(dir, { recursive: true, force: true });
});

const latents = (dims: number[]) => ({ type: 'float32' as const, data: new Float32Array(dims.reduce((a, b) => a * b, 1)), dims });

describe('OnnxSession', () => {
  it('uses the best provider it can and reports why it fell back', async () => {
    const path = join(dir, 'model', 'vae_decoder', 'model.onnx');
    const cpu = await OnnxSession.create(path, { provider: 'cpu' });
    expect(cpu.device).toBe('cpu');
    await cpu.release();
    const report = providerReport();
    expect(report).toMatchObject({ device: 'cpu', preference: 'cpu', fallbacks: [] });

    const auto = await OnnxSession.create(path);
    await auto.release();
    const host = probeHost();
    const plan = planProviders('auto', host);
    expect(plan.candidates).toContain(auto.device);
    expect(providerReport()).toMatchObject({ device: auto.device, preference: 'auto' });
    if (!plan.candidates.includes('cuda')) {
      expect(providerReport()!.fallbacks[0]).toBe(plan.skipped[0]);
      expect(providerReport()!.fallbacks[0]).toContain(`not found in ${host.bindingDir}`);
      // Insisting on CUDA must fail loudly, naming the missing file, instead of running on CPU.
      const forced = OnnxSession.create(path, { provider: 'cuda' });
      await expect(forced).rejects.toMatchObject({ code: 'model_invalid' });
      await expect(forced).rejects.toThrow(/libonnxruntime_providers_cuda\.so/);
    }
  });

  it('runs and returns plain float32 tensors', async () => {
    const out = await session.run({ latent_sample: latents([1, 4, 2, 3]) }, ['sample']);
    expect(out.sample?.type).toBe('float32');
    expect(out.sample?.dims).toEqual([1, 3, 16, 24]);
    expect(out.sample?.data).toBeInstanceOf(Float32Array);
  });

  it('rejects a feed with the wrong dtype or rank before running, as a non-retryable error', async () => {
    const wrongType = session.run({ latent_sample: { type: 'int32', data: new Int32Array(24), dims: [1, 4, 2, 3] } });
    await expect(wrongType).rejects.toMatchObject({ code: 'input_mismatch', retryable: false });
    await expect(wrongType).rejects.toThrow(/dtype int32, expected float32/);

    const wrongRank = session.run({ latent_sample: latents([4, 2, 3]) });
    await expect(wrongRank).rejects.toBeInstanceOf(PipelineError);
    await expect(wrongRank).rejects.toThrow(/rank 3, expected 4/);

    await expect(session.run({ latent_sample: latents([1, 3, 2, 3]) })).rejects.toThrow(/dim 1 is 3, expected 4/);
  });

  it('reports a file that is not a model as model_invalid', async () => {
    const path = join(dir, 'broken.onnx');
    await writeFile(path, 'not a protobuf');
    await expect(OnnxSession.create(path, { provider: 'cpu' })).rejects.toMatchObject({
      code: 'model_invalid',
      retryable: false,
    });
  });
});
