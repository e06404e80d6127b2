import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultModelDir, ensureModel } from './ensure-model.js';
import { missingModelFiles } from './model-layout.js';

let root: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'ensure-model-'));
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)))
    .sort();
}

async function digest(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const file of await listFiles(dir))
    out[file] = createHash('sha256')
      .update(await readFile(join(dir, file)))
      .digest('hex');
  return out;
}

describe('ensureModel', () => {
  it('writes the Optimum SDXL layout once, atomically, and reuses it afterwards', async () => {
    const dir = join(root, 'a');
    expect(await ensureModel(dir)).toEqual({ dir, generated: true });
    expect(await ensureModel(dir)).toEqual({ dir, generated: false });

    const files = await listFiles(dir);
    expect(await missingModelFiles(dir)).toEqual([]);
    for (const folder of ['tokenizer', 'tokenizer_2']) {
      expect(files).toContain(`${folder}/vocab.json`);
      expect(files).toContain(`${folder}/merges.txt`);
      expect(files).toContain(`${folder}/special_tokens_map.json`);
      expect(files).toContain(`${folder}/tokenizer_config.json`);
    }
    // No temp directory is left next to the model.
    expect((await readdir(root)).filter((name) => name.includes('.tmp-'))).toEqual([]);

    const sizes = await Promise.all(files.map(async (f) => (await readFile(join(dir, f))).length));
    expect(sizes.reduce((a, b) => a + b, 0)).toBeLessThan(4 * 1024 * 1024);
  });

  it('writes byte-identical files every time', async () => {
    await ensureModel(join(root, 'b'));
    await ensureModel(join(root, 'c'));
    expect(await digest(join(root, 'b'))).toEqual(await digest(join(root, 'c')));
  });

  it('writes the SDXL configuration values inference depends on', async () => {
    const dir = join(root, 'b');
    const read = async (path: string) => JSON.parse(await readFile(join(dir, path), 'utf8')) as Record<string, unknown>;
    expect(await read('model_index.json')).toMatchObject({ force_zeros_for_empty_prompt: true });
    expect(await read('scheduler/scheduler_config.json')).toMatchObject({
      _class_name: 'EulerDiscreteScheduler',
      beta_schedule: 'scaled_linear',
      beta_start: 0.00085,
      beta_end: 0.012,
      num_train_timesteps: 1000,
      steps_offset: 1,
      timestep_spacing: 'leading',
      prediction_type: 'epsilon',
    });
    expect(await read('vae_decoder/config.json')).toMatchObject({ scaling_factor: 0.13025 });
    expect(await read('tokenizer/tokenizer_config.json')).toMatchObject({ model_max_length: 77 });
    expect(await read('tokenizer_2/special_tokens_map.json')).toMatchObject({ pad_token: '!' });

    const vocab = await read('tokenizer/vocab.json');
    const merges = (await readFile(join(dir, 'tokenizer/merges.txt'), 'utf8')).trim().split('\n');
    expect(merges[0]).toBe('#version: 0.2');
    expect(merges.length - 1).toBeGreaterThanOrEqual(200);
    // CLIP's order: 256 byte symbols, the same with </w>, merges, then the two specials.
    expect(vocab['!']).toBe(0);
    expect(vocab['!</w>']).toBe(256);
    const size = Object.keys(vocab).length;
    expect(vocab['<|startoftext|>']).toBe(size - 2);
    expect(vocab['<|endoftext|>']).toBe(size - 1);
  });

  it('refuses to touch a directory that holds something else', async () => {
    const dir = join(root, 'occupied');
    await mkdir(dir);
    await writeFile(join(dir, 'notes.txt'), 'not a model');
    await expect(ensureModel(dir)).rejects.toThrow(/not a complete SDXL ONNX model/);
  });

  it('defaults to the package models directory', () => {
    expect(defaultModelDir()).toMatch(/gpu-runner[\\/]models[\\/]tiny-sdxl$/);
  });
});
