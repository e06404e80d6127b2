import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { toByteCharacters } from './byte-level.js';
import { normalizeClipText, splitClipWords } from './clip-pre-tokenizer.js';

/** CLIP's merges.txt holds at most this many rules (`[1 : 49152 - 256 - 2 + 1]` in HF). */
const MAX_MERGES = 49152 - 256 - 2;
/** Some exports write `model_max_length: 1e30` ("unbounded"); CLIP's position table is 77. */
const CLIP_CONTEXT_LENGTH = 77;

export interface ClipTokenizerFiles {
  vocab: Record<string, number>;
  merges: string;
  config: Record<string, unknown>;
  specialTokens: Record<string, unknown>;
}

/**
 * CLIP's byte-level BPE tokenizer, as diffusers uses it for SDXL: normalise, split with
 * CLIP's pattern, BPE each word with an end-of-word marker, wrap in BOS/EOS, truncate to
 * the context length keeping EOS, pad with the configured pad token (`<|endoftext|>` for
 * SDXL's first tokenizer, `!` for the second).
 */
export class ClipTokenizer {
  readonly maxLength: number;
  readonly bosId: number;
  readonly eosId: number;
  readonly padId: number;
  private readonly unkId: number;
  private readonly vocab: Map<string, number>;
  private readonly ranks: Map<string, number>;
  /** Special-token strings, longest first: they are cut out of the text before BPE. */
  private readonly specials: string[];
  private readonly cache = new Map<string, string[]>();

  constructor(files: ClipTokenizerFiles) {
    this.vocab = new Map(Object.entries(files.vocab));
    this.ranks = new Map();
    const lines = files.merges.split('\n').filter((line) => line.trim() !== '' && !line.startsWith('#version'));
    lines.slice(0, MAX_MERGES).forEach((line, rank) => {
      const [left, right] = line.split(' ');
      const key = `${left} ${right}`;
      if (!this.ranks.has(key)) this.ranks.set(key, rank);
    });

    const token = (name: string, fallback: string): string =>
      tokenContent(files.config[name]) ?? tokenContent(files.specialTokens[name]) ?? fallback;
    const idOf = (name: string, fallback: string): number => {
      const content = token(name, fallback);
      const id = this.vocab.get(content);
      if (id === undefined) throw new Error(`tokenizer ${name} "${content}" is not in vocab.json`);
      return id;
    };
    this.bosId = idOf('bos_token', '<|startoftext|>');
    this.eosId = idOf('eos_token', '<|endoftext|>');
    this.unkId = idOf('unk_token', '<|endoftext|>');
    this.padId = idOf('pad_token', '<|endoftext|>');
    const specialNames = ['bos_token', 'eos_token', 'unk_token', 'pad_token'];
    this.specials = [...new Set(specialNames.map((name) => token(name, '<|endoftext|>')))].sort((a, b) => b.length - a.length);

    const configured = Number(files.config.model_max_length);
    this.maxLength = Number.isInteger(configured) && configured > 2 && configured <= 4096 ? configured : CLIP_CONTEXT_LENGTH;
  }

  /** Loads `vocab.json`, `merges.txt`, `tokenizer_config.json` and `special_tokens_map.json`. */
  static async fromDirectory(dir: string): Promise<ClipTokenizer> {
    const [vocab, merges, config, specialTokens] = await Promise.all([
      readFile(join(dir, 'vocab.json'), 'utf8').then((text) => JSON.parse(text) as Record<string, number>),
      readFile(join(dir, 'merges.txt'), 'utf8'),
      readJsonIfPresent(join(dir, 'tokenizer_config.json')),
      readJsonIfPresent(join(dir, 'special_tokens_map.json')),
    ]);
    return new ClipTokenizer({ vocab, merges, config, specialTokens });
  }

  /**
   * BPE tokens of `text` without BOS/EOS, truncation or padding. As in Hugging Face's
   * tokenizers, special tokens written in the text (including SDXL's second pad token `!`)
   * are split out verbatim first, and only the text between them is normalised and BPE'd.
   */
  tokenize(text: string): string[] {
    const tokens: string[] = [];
    for (const piece of this.splitOnSpecials(text)) {
      if (piece.special) tokens.push(piece.text);
      else for (const word of splitClipWords(normalizeClipText(piece.text))) tokens.push(...this.bpe(word));
    }
    return tokens;
  }

  /** `maxLength` ids: BOS, the text's tokens (truncated), EOS, then padding. */
  encode(text: string): Int32Array {
    const ids = new Int32Array(this.maxLength).fill(this.padId);
    const content = this.tokenize(text).slice(0, this.maxLength - 2);
    ids[0] = this.bosId;
    content.forEach((token, i) => {
      ids[i + 1] = this.vocab.get(token) ?? this.unkId;
    });
    ids[content.length + 1] = this.eosId;
    return ids;
  }

  private *splitOnSpecials(text: string): Generator<{ text: string; special: boolean }> {
    let rest = text;
    while (rest.length > 0) {
      let at = -1;
      let found = '';
      for (const special of this.specials) {
        const index = rest.indexOf(special);
        if (index !== -1 && (at === -1 || index < at)) {
          at = index;
          found = special;
        }
      }
      if (at === -1) break;
      if (at > 0) yield { text: rest.slice(0, at), special: false };
      yield { text: found, special: true };
      rest = rest.slice(at + found.length);
    }
    if (rest.length > 0) yield { text: rest, special: false };
  }

  /** CLIP's `bpe()`: repeatedly merge the lowest-ranked adjacent pair of the word. */
  private bpe(word: string): string[] {
    const cached = this.cache.get(word);
    if (cached) return cached;
    let symbols = toByteCharacters(word);
    symbols[symbols.length - 1] += '</w>';
    while (symbols.length > 1) {
      let bestRank = Infinity;
      let bestPair: [string, string] | undefined;
      for (let i = 0; i + 1 < symbols.length; i++) {
        const rank = this.ranks.get(`${symbols[i]} ${symbols[i + 1]}`);
        if (rank !== undefined && rank < bestRank) {
          bestRank = rank;
          bestPair = [symbols[i]!, symbols[i + 1]!];
        }
      }
      if (!bestPair) break;
      const [left, right] = bestPair;
      const merged: string[] = [];
      for (let i = 0; i < symbols.length; i++) {
        if (i + 1 < symbols.length && symbols[i] === left && symbols[i + 1] === right) {
          merged.push(left + right);
          i += 1;
        } else {
          merged.push(symbols[i]!);
        }
      }
      symbols = merged;
    }
    this.cache.set(word, symbols);
    return symbols;
  }
}

/** Special tokens appear as plain strings or as `{"content": ..., "__type": "AddedToken"}`. */
function tokenContent(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'object' && value !== null && typeof (value as { content?: unknown }).content === 'string') {
    return (value as { content: string }).content;
  }
  return undefined;
}

async function readJsonIfPresent(path: string): Promise<Record<string, unknown>> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as Record<string, unknown>;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw error;
  }
}
