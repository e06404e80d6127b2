import { BYTE_ALPHABET, toByteCharacters } from '../tokenizer/byte-level.js';
import { normalizeClipText, splitClipWords } from '../tokenizer/clip-pre-tokenizer.js';

export const START_OF_TEXT = '<|startoftext|>';
export const END_OF_TEXT = '<|endoftext|>';

export interface BpeVocabulary {
  /** Token → id, in CLIP's order: bytes, bytes + `</w>`, merge results, then the specials. */
  vocab: Map<string, number>;
  /** Merge rules by rank: `[left, right]`. */
  merges: [string, string][];
}

/**
 * Learns byte-level BPE merges the way CLIP's vocabulary was built: words are split with
 * CLIP's own pre-tokenizer, the last symbol of each word carries `</w>`, and the most
 * frequent adjacent pair is merged repeatedly. Ties go to the lexicographically smallest
 * pair so the result depends on nothing but the corpus.
 */
export function trainClipBpe(corpus: string, maxMerges: number, minFrequency = 2): BpeVocabulary {
  const counts = new Map<string, number>();
  for (const word of splitClipWords(normalizeClipText(corpus))) {
    if (word === START_OF_TEXT || word === END_OF_TEXT) continue;
    counts.set(word, (counts.get(word) ?? 0) + 1);
  }
  const words = [...counts.keys()].sort().map((word) => {
    const symbols = toByteCharacters(word);
    symbols[symbols.length - 1] += '</w>';
    return { symbols, count: counts.get(word)! };
  });

  const tokens: string[] = [...BYTE_ALPHABET, ...BYTE_ALPHABET.map((c) => `${c}</w>`)];
  const known = new Set(tokens);
  const merges: [string, string][] = [];
  // A pair merged once is never chosen again: its rank is fixed by the first merge.
  const used = new Set<string>();

  while (merges.length < maxMerges) {
    const pairCounts = new Map<string, number>();
    for (const { symbols, count } of words) {
      for (let i = 0; i + 1 < symbols.length; i++) {
        const key = `${symbols[i]} ${symbols[i + 1]}`;
        if (!used.has(key)) pairCounts.set(key, (pairCounts.get(key) ?? 0) + count);
      }
    }
    let best: string | undefined;
    let bestCount = 0;
    for (const [key, count] of pairCounts) {
      if (count > bestCount || (count === bestCount && best !== undefined && key < best)) {
        best = key;
        bestCount = count;
      }
    }
    if (best === undefined || bestCount < minFrequency) break;
    const [left, right] = best.split(' ') as [string, string];
    used.add(best);
    merges.push([left, right]);
    const merged = left + right;
    if (!known.has(merged)) {
      known.add(merged);
      tokens.push(merged);
    }
    for (const word of words) word.symbols = applyMerge(word.symbols, left, right);
  }

  tokens.push(START_OF_TEXT, END_OF_TEXT);
  return { vocab: new Map(tokens.map((token, id) => [token, id])), merges };
}

function applyMerge(symbols: string[], left: string, right: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < symbols.length; i++) {
    if (i + 1 < symbols.length && symbols[i] === left && symbols[i + 1] === right) {
      out.push(left + right);
      i += 1;
    } else {
      out.push(symbols[i]!);
    }
  }
  return out;
}

/** `merges.txt` as Hugging Face writes it: a version header, then one `left right` per line. */
export function formatMerges(merges: readonly [string, string][]): string {
  return ['#version: 0.2', ...merges.map(([a, b]) => `${a} ${b}`)].join('\n') + '\n';
}
