import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeTinyModel } from '../model/ensure-model.js';
import { ClipTokenizer } from './clip-tokenizer.js';

interface TokenizerFixture {
  vocabSha256: string;
  mergesSha256: string;
  padTokenId: number;
  cases: { prompt: string; ids: number[]; tokens: string[] }[];
}

// Ids computed by Hugging Face's CLIPTokenizer over the generated vocabulary; see
// gpu-runner/scripts/make-tokenizer-fixture.py.
const fixture = JSON.parse(await readFile(new URL('./fixtures/tiny-vocab-ids.json', import.meta.url), 'utf8')) as {
  tokenizers: Record<'tokenizer' | 'tokenizer_2', TokenizerFixture>;
};

let modelDir: string;

beforeAll(async () => {
  modelDir = await mkdtemp(join(tmpdir(), 'clip-tokenizer-'));
  await writeTinyModel(modelDir);
});

afterAll(async () => {
  await rm(modelDir, { recursive: true, force: true });
});

const sha256 = async (path: string) =>
  createHash('sha256')
    .update(await readFile(path))
    .digest('hex');

for (const folder of ['tokenizer', 'tokenizer_2'] as const) {
  describe(`ClipTokenizer on the tiny model's ${folder}`, () => {
    const expected = fixture.tokenizers[folder];

    it('reads the vocabulary the fixture was computed from', async () => {
      // A mismatch means the generator changed: rerun scripts/make-tokenizer-fixture.py.
      expect(await sha256(join(modelDir, folder, 'vocab.json'))).toBe(expected.vocabSha256);
      expect(await sha256(join(modelDir, folder, 'merges.txt'))).toBe(expected.mergesSha256);
    });

    it('produces the reference ids, padded to 77 with the configured pad token', async () => {
      const tokenizer = await ClipTokenizer.fromDirectory(join(modelDir, folder));
      expect(tokenizer.maxLength).toBe(77);
      expect(tokenizer.padId).toBe(expected.padTokenId);
      for (const { prompt, ids, tokens } of expected.cases) {
        expect({ prompt, tokens: tokenizer.tokenize(prompt) }).toEqual({ prompt, tokens });
        expect({ prompt, ids: Array.from(tokenizer.encode(prompt)) }).toEqual({ prompt, ids });
      }
    });
  });
}

describe('ClipTokenizer truncation', () => {
  it('keeps BOS first and EOS last when the prompt is too long', async () => {
    const tokenizer = await ClipTokenizer.fromDirectory(join(modelDir, 'tokenizer'));
    const ids = tokenizer.encode('bag '.repeat(200));
    expect(ids).toBeInstanceOf(Int32Array);
    expect(ids.length).toBe(77);
    expect(ids[0]).toBe(tokenizer.bosId);
    expect(ids[76]).toBe(tokenizer.eosId);
    expect(ids.slice(1, 76).every((id) => id !== tokenizer.eosId)).toBe(true);
  });
});
