import { createHash } from 'node:crypto';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeTinyModel } from '../model/ensure-model.js';
import { BYTE_ALPHABET } from './byte-level.js';
import { ClipTokenizer } from './clip-tokenizer.js';

interface TokenizerFixture {
  sha256: Record<string, string>;
  padTokenId: number;
  cases: { prompt: string; ids: number[]; tokens: string[] }[];
}
type Folder = 'tokenizer' | 'tokenizer_2';

// Ids computed by Hugging Face's CLIPTokenizer; see gpu-runner/scripts/make-tokenizer-fixture.py.
const fixtureFile = async <T>(name: string) =>
  JSON.parse(await readFile(new URL(`./fixtures/${name}`, import.meta.url), 'utf8')) as T;
const real = await fixtureFile<{ tokenizers: Record<Folder, TokenizerFixture> }>('clip-vocab-ids.json');
const tiny = await fixtureFile<{ savedFiles: string[]; tokenizers: Record<Folder, TokenizerFixture> }>('tiny-vocab-ids.json');

let scratch: string;
let modelDir: string;
let realDir: string;

/**
 * SDXL's two tokenizer directories over CLIP's real vocabulary, rebuilt from the committed
 * merges the way CLIP defines vocab.json (byte symbols, the same with </w>, one token per
 * merge, the two special tokens) and SDXL's tokenizer configs; the fixture's hashes prove
 * the files are the ones the reference tokenized with.
 */
async function writeRealTokenizers(dir: string, tinyModel: string): Promise<void> {
  const mergesText = gunzipSync(await readFile(new URL('./fixtures/clip-merges.txt.gz', import.meta.url))).toString('utf8');
  const merges = mergesText.split('\n').filter((line) => line !== '' && !line.startsWith('#version'));
  const tokens = [
    ...BYTE_ALPHABET,
    ...BYTE_ALPHABET.map((b) => `${b}</w>`),
    ...merges.map((m) => m.replace(' ', '')),
    '<|startoftext|>',
    '<|endoftext|>',
  ];
  // Written by hand: an object would list the digit keys first.
  const vocab = `{${tokens.map((token, id) => `${JSON.stringify(token)}:${id}`).join(',')}}`;
  for (const folder of ['tokenizer', 'tokenizer_2'] as const) {
    await mkdir(join(dir, folder), { recursive: true });
    await writeFile(join(dir, folder, 'vocab.json'), vocab);
    await writeFile(join(dir, folder, 'merges.txt'), mergesText);
    // SDXL's configs, as the tiny model writes them (tokenizer_2 pads with "!").
    for (const file of ['tokenizer_config.json', 'special_tokens_map.json']) {
      await copyFile(join(tinyModel, folder, file), join(dir, folder, file));
    }
  }
}

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'clip-tokenizer-'));
  modelDir = join(scratch, 'tiny');
  realDir = join(scratch, 'real');
  await writeTinyModel(modelDir);
  await writeRealTokenizers(realDir, modelDir);
});

afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

const sha256 = async (path: string) =>
  createHash('sha256')
    .update(await readFile(path))
    .digest('hex');

function expectTable(tokenizer: ClipTokenizer, expected: TokenizerFixture) {
  expect(tokenizer.maxLength).toBe(77);
  expect(tokenizer.padId).toBe(expected.padTokenId);
  for (const { prompt, ids, tokens } of expected.cases) {
    expect({ prompt, tokens: tokenizer.tokenize(prompt) }).toEqual({ prompt, tokens });
    expect({ prompt, ids: Array.from(tokenizer.encode(prompt)) }).toEqual({ prompt, ids });
  }
}

for (const [label, fixture, dir] of [
  ['CLIP’s real vocabulary', real, () => realDir],
  ['the tiny model’s vocabulary', tiny, () => modelDir],
] as const) {
  for (const folder of ['tokenizer', 'tokenizer_2'] as const) {
    describe(`ClipTokenizer with ${label}, ${folder}`, () => {
      const expected = fixture.tokenizers[folder];

      it('reads the files the reference tokenized', async () => {
        // A mismatch means the files changed: rerun scripts/make-tokenizer-fixture.py.
        for (const [file, hash] of Object.entries(expected.sha256)) expect(await sha256(join(dir(), folder, file))).toBe(hash);
      });

      it(`gives CLIPTokenizer's ids for ${expected.cases.length} prompts, padded to 77 with the configured pad token`, async () => {
        expectTable(await ClipTokenizer.fromDirectory(join(dir(), folder)), expected);
      });
    });
  }
}

describe('ClipTokenizer directory forms', () => {
  it('loads a directory holding only tokenizer.json and tokenizer_config.json (current transformers)', async () => {
    expect(tiny.savedFiles).toEqual(['tokenizer.json', 'tokenizer_config.json']);
    for (const folder of ['tokenizer', 'tokenizer_2'] as const) {
      const saved = new URL(`./fixtures/tiny-tokenizer-json/${folder}/`, import.meta.url).pathname;
      expectTable(await ClipTokenizer.fromDirectory(saved), tiny.tokenizers[folder]);
    }
  });

  it('refuses a directory with neither form, and a tokenizer.json that is not CLIP BPE', async () => {
    const empty = join(scratch, 'empty');
    await mkdir(empty);
    await expect(ClipTokenizer.fromDirectory(empty)).rejects.toThrow(/neither tokenizer.json nor vocab.json/);
    await writeFile(join(empty, 'tokenizer.json'), JSON.stringify({ model: { type: 'WordPiece', vocab: {} } }));
    await expect(ClipTokenizer.fromDirectory(empty)).rejects.toThrow(/not a CLIP BPE tokenizer/);
  });
});

describe('ClipTokenizer truncation and chunking', () => {
  const load = (folder: Folder) => ClipTokenizer.fromDirectory(join(realDir, folder));

  it('truncates to 77 keeping BOS first and EOS last', async () => {
    const tokenizer = await load('tokenizer');
    const ids = tokenizer.encode('bag '.repeat(200));
    expect(ids).toBeInstanceOf(Int32Array);
    expect(ids.length).toBe(77);
    expect(ids[0]).toBe(tokenizer.bosId);
    expect(ids[76]).toBe(tokenizer.eosId);
    expect(ids.slice(1, 76).every((id) => id !== tokenizer.eosId)).toBe(true);
  });

  it('gives a prompt that fits exactly one window, identical to encode()', async () => {
    for (const folder of ['tokenizer', 'tokenizer_2'] as const) {
      const tokenizer = await load(folder);
      for (const { prompt } of real.tokenizers[folder].cases) {
        if (tokenizer.tokenize(prompt).length > 75) continue;
        expect(tokenizer.encodeChunks(prompt).map((c) => Array.from(c))).toEqual([Array.from(tokenizer.encode(prompt))]);
      }
    }
  });

  it('splits a long prompt into 75-token windows without losing or reordering a token', async () => {
    const tokenizer = await load('tokenizer_2');
    const prompt = Array.from({ length: 60 }, (_, i) => `product photo ${i}, studio light`).join(' ');
    const tokens = tokenizer.tokenize(prompt);
    const chunks = tokenizer.encodeChunks(prompt);
    expect(chunks.length).toBeGreaterThanOrEqual(Math.ceil(tokens.length / 75));
    const content: number[] = [];
    for (const chunk of chunks) {
      expect(chunk.length).toBe(77);
      expect(chunk[0]).toBe(tokenizer.bosId);
      const end = chunk.indexOf(tokenizer.eosId);
      expect(end).toBeGreaterThan(0);
      expect(Array.from(chunk.slice(end + 1)).every((id) => id === tokenizer.padId)).toBe(true);
      content.push(...chunk.slice(1, end));
    }
    expect(content).toEqual(Array.from(tokenizer.encode(prompt).slice(1, 76)).concat(content.slice(75)));
    expect(content.length).toBe(tokens.length);
  });

  it('moves a short word whole to the next window and cuts a word of 8 tokens or more', async () => {
    const tokenizer = await load('tokenizer');
    // 74 one-token words, then a 2-token word: it does not fit in the first window's last slot.
    const short = `${'a '.repeat(74)}photo,`;
    const wordTokens = tokenizer.tokenize('photo,').length;
    expect(wordTokens).toBe(2);
    const [first, second] = tokenizer.encodeChunks(short);
    expect(first!.indexOf(tokenizer.eosId)).toBe(75);
    expect(Array.from(second!.slice(1, 3))).toEqual(Array.from(tokenizer.encode('photo,').slice(1, 3)));

    const long = `${'a '.repeat(74)}${'x'.repeat(40)}`;
    const longTokens = tokenizer.tokenize('x'.repeat(40));
    expect(longTokens.length).toBeGreaterThanOrEqual(8);
    const cut = tokenizer.encodeChunks(long);
    expect(cut[0]!.indexOf(tokenizer.eosId)).toBe(76);
    expect(cut[1]!.indexOf(tokenizer.eosId)).toBe(longTokens.length);
  });
});
