import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureModel } from '../model/ensure-model.js';
import { MODEL_FILES } from '../model/model-layout.js';
import { OnnxSession } from '../onnx/onnx-session.js';
import { ClipTokenizer } from '../tokenizer/clip-tokenizer.js';
import { PromptEncoder, type EncodedPrompts } from './prompt-encoder.js';
import { parseEmphasis } from './prompt-emphasis.js';

let dir: string;
let sessions: OnnxSession[];
let tokenizer: ClipTokenizer;
let encoder: PromptEncoder;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sdxl-emphasis-'));
  await ensureModel(dir);
  const tokenizers = await Promise.all([
    ClipTokenizer.fromDirectory(join(dir, MODEL_FILES.tokenizer)),
    ClipTokenizer.fromDirectory(join(dir, MODEL_FILES.tokenizer2)),
  ]);
  tokenizer = tokenizers[0];
  sessions = await Promise.all(
    [MODEL_FILES.textEncoder, MODEL_FILES.textEncoder2].map((file) => OnnxSession.create(join(dir, file), { provider: 'cpu' })),
  );
  encoder = new PromptEncoder(tokenizers, [sessions[0]!, sessions[1]!]);
});

afterAll(async () => {
  await Promise.all(sessions.map((session) => session.release()));
  await rm(dir, { recursive: true, force: true });
});

const encode = async (text: string): Promise<EncodedPrompts> => (await encoder.encode([{ text, text2: text }]))[0]!;
/** Row `token` of encoder `half` (0: text_encoder, 1: text_encoder_2) of an encoding. */
const FIRST_WIDTH = 32;
const row = (e: EncodedPrompts, token: number, half: 0 | 1) => {
  const start = token * e.width + (half === 0 ? 0 : FIRST_WIDTH);
  return e.hiddenStates.subarray(start, half === 0 ? start + FIRST_WIDTH : (token + 1) * e.width);
};
const mean = (e: EncodedPrompts, half: 0 | 1, tokens: number) => {
  const values: number[] = [];
  for (let t = 0; t < tokens; t++) values.push(...row(e, t, half));
  return values.reduce((sum, x) => sum + x, 0) / values.length;
};

describe('prompt emphasis on the text encoders', () => {
  const plain = 'a red leather bag on white marble';
  const weighted = 'a (red leather:1.5) bag on white marble';

  it('is exactly no emphasis at weight 1.0', async () => {
    const a = await encode(plain);
    const b = await encode('a (red leather:1.0) bag on white marble');
    expect(Buffer.from(b.hiddenStates.buffer).equals(Buffer.from(a.hiddenStates.buffer))).toBe(true);
    expect(Buffer.from(b.textEmbeds.buffer).equals(Buffer.from(a.textEmbeds.buffer))).toBe(true);
  });

  it('moves weighted tokens away from the empty prompt and restores the mean', async () => {
    const [a, b, empty] = [await encode(plain), await encode(weighted), await encode('')];
    expect(b.sequenceLength).toBe(77);
    const [window] = tokenizer.encodeWeightedChunks(parseEmphasis(weighted));
    expect(Array.from(window!.ids)).toEqual(Array.from(tokenizer.encode(plain)));
    const emphasized = [...window!.weights.keys()].filter((t) => window!.weights[t] !== 1);
    expect(emphasized.length).toBeGreaterThanOrEqual(2);

    for (const half of [0, 1] as const) {
      // Every unweighted position is the plain encoding times one common factor (the mean correction)...
      const ratio = row(b, 0, half)[0]! / row(a, 0, half)[0]!;
      expect(ratio).not.toBe(1);
      for (let t = 0; t < 77; t++) {
        if (emphasized.includes(t)) continue;
        row(b, t, half).forEach((x, i) => expect(x).toBeCloseTo(row(a, t, half)[i]! * ratio, 5));
      }
      // ...and a weighted one is 1.5 times as far from the empty prompt's vector, before that factor.
      for (const t of emphasized) {
        row(b, t, half).forEach((x, i) => {
          const base = row(empty, t, half)[i]!;
          expect(x / ratio - base).toBeCloseTo(1.5 * (row(a, t, half)[i]! - base), 4);
        });
      }
      expect(mean(b, half, 77)).toBeCloseTo(mean(a, half, 77), 6);
    }
    // The pooled embedding is the unweighted prompt's, as in Fooocus.
    expect(Array.from(b.textEmbeds)).toEqual(Array.from(a.textEmbeds));
  });

  it('weights each window of a long prompt against the empty window', async () => {
    const long = `${'studio product photo of a ceramic mug, soft light, '.repeat(10)}(glossy glaze:1.4)`;
    const a = await encode(long.replace('(glossy glaze:1.4)', 'glossy glaze'));
    const b = await encode(long);
    expect(b.sequenceLength).toBe(a.sequenceLength);
    expect(b.sequenceLength).toBeGreaterThan(77);
    // Only the window holding the emphasis changes; the first window is untouched.
    const first = 77 * b.width;
    expect(Array.from(b.hiddenStates.subarray(0, first))).toEqual(Array.from(a.hiddenStates.subarray(0, first)));
    expect(Array.from(b.hiddenStates.subarray(first))).not.toEqual(Array.from(a.hiddenStates.subarray(first)));
  });

  it('de-emphasises [words]', async () => {
    const a = await encode(plain);
    const b = await encode('a [red leather] bag on white marble');
    expect(Array.from(b.hiddenStates)).not.toEqual(Array.from(a.hiddenStates));
  });
});
