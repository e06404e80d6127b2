import { toByteCharacters } from './byte-level.js';
import { normalizeClipText, splitClipWords } from './clip-pre-tokenizer.js';
import { addedToken, readTokenizerFiles, type AddedToken, type ClipTokenizerFiles } from './tokenizer-files.js';

/** CLIP's merges.txt holds at most this many rules (`[1 : 49152 - 256 - 2 + 1]` in HF). */
const MAX_MERGES = 49152 - 256 - 2;
/** Some exports write `model_max_length: 1e30` ("unbounded"); CLIP's position table is 77. */
const CLIP_CONTEXT_LENGTH = 77;
/**
 * Fooocus (after ComfyUI) keeps a word of fewer tokens than this in one chunk, moving it
 * whole to the next chunk; longer words are cut at the chunk boundary.
 */
const MAX_WORD_TOKENS = 8;
/** Words remembered by the BPE cache; a runner sees unbounded distinct words over its life. */
const BPE_CACHE_SIZE = 20_000;

/** One encoder window: its ids and each position's emphasis weight. */
export interface WeightedWindow {
  ids: Int32Array;
  weights: Float32Array;
}

/**
 * CLIP's byte-level BPE tokenizer, as Hugging Face's CLIPTokenizer (tokenizers backend)
 * does it for SDXL: added tokens are cut out of the raw text, the rest is normalised
 * (NFC, whitespace, lower case), split with CLIP's pattern and BPE'd with an end-of-word
 * marker; ids are wrapped in BOS/EOS, truncated to the context length keeping EOS, and
 * padded with the configured pad token (`<|endoftext|>` for SDXL's first tokenizer, `!`
 * for the second).
 */
export class ClipTokenizer {
  readonly maxLength: number;
  readonly bosId: number;
  readonly eosId: number;
  readonly padId: number;
  private readonly unkId: number;
  private readonly vocab: Map<string, number>;
  private readonly ranks: Map<string, number>;
  /** Added tokens, longest first, matched in the raw text and in the normalised text. */
  private readonly rawSpecials: string[];
  private readonly normalizedSpecials: string[];
  private readonly cache = new Map<string, string[]>();

  constructor(files: ClipTokenizerFiles) {
    this.vocab = new Map(Object.entries(files.vocab));
    this.ranks = new Map();
    files.merges.slice(0, MAX_MERGES).forEach(([left, right], rank) => {
      const key = `${left} ${right}`;
      if (!this.ranks.has(key)) this.ranks.set(key, rank);
    });

    const special = (name: string, fallback: string): AddedToken =>
      addedToken(files.config[name]) ?? { content: fallback, normalized: true };
    const idOf = (name: string, fallback: string): number => {
      const { content } = special(name, fallback);
      const id = this.vocab.get(content);
      if (id === undefined) throw new Error(`tokenizer ${name} "${content}" is not in the vocabulary`);
      return id;
    };
    this.bosId = idOf('bos_token', '<|startoftext|>');
    this.eosId = idOf('eos_token', '<|endoftext|>');
    this.unkId = idOf('unk_token', '<|endoftext|>');
    this.padId = idOf('pad_token', '<|endoftext|>');
    // tokenizer.json / added_tokens_decoder say how each added token is matched. Without
    // them, transformers makes the config's special tokens the added tokens, each matched
    // as its config says — except the pad token, always matched in the raw text (so for
    // SDXL's first tokenizer, whose pad is its EOS, "<|ENDOFTEXT|>" stays plain text).
    const added =
      files.addedTokens.length > 0
        ? files.addedTokens
        : [special('bos_token', '<|startoftext|>'), special('eos_token', '<|endoftext|>'), special('unk_token', '<|endoftext|>')]
            .filter(({ content }) => content !== special('pad_token', '<|endoftext|>').content)
            .concat({ content: special('pad_token', '<|endoftext|>').content, normalized: false });
    const usable = added.filter(({ content }) => content !== '' && this.vocab.has(content));
    const longestFirst = (tokens: AddedToken[]) => [...new Set(tokens.map((t) => t.content))].sort((a, b) => b.length - a.length);
    this.rawSpecials = longestFirst(usable.filter((t) => !t.normalized));
    this.normalizedSpecials = longestFirst(usable.filter((t) => t.normalized));

    const configured = Number(files.config.model_max_length);
    this.maxLength = Number.isInteger(configured) && configured > 2 && configured <= 4096 ? configured : CLIP_CONTEXT_LENGTH;
  }

  /** Loads a tokenizer directory: `vocab.json` + `merges.txt`, or `tokenizer.json`; see `readTokenizerFiles`. */
  static async fromDirectory(dir: string): Promise<ClipTokenizer> {
    return new ClipTokenizer(await readTokenizerFiles(dir));
  }

  /** BPE tokens of `text` without BOS/EOS, truncation or padding. */
  tokenize(text: string): string[] {
    return this.words(text).flat();
  }

  /** `maxLength` ids: BOS, the text's tokens (truncated), EOS, then padding — diffusers' `encode_prompt` input. */
  encode(text: string): Int32Array {
    return this.window(
      this.tokenize(text)
        .slice(0, this.maxLength - 2)
        .map((t) => this.idOf(t)),
    );
  }

  /**
   * The text in `maxLength`-token windows, as Fooocus encodes long prompts: each window is
   * BOS, up to `maxLength - 2` tokens, EOS and padding; a word that would straddle two
   * windows moves whole to the next one unless it has 8 tokens or more, in which case it is
   * cut. A text that fits gives exactly `[encode(text)]`.
   */
  encodeChunks(text: string): Int32Array[] {
    return this.encodeWeightedChunks([{ text, weight: 1 }]).map((window) => window.ids);
  }

  /**
   * `encodeChunks` over consecutive pieces of one prompt, each token carrying its piece's
   * weight (BOS, EOS and padding weigh 1). Pieces are split into words on their own, so a
   * word never spans two pieces.
   */
  encodeWeightedChunks(pieces: readonly { text: string; weight: number }[]): WeightedWindow[] {
    const room = this.maxLength - 2;
    const chunks: WeightedWindow[] = [];
    let current: number[] = [];
    let weights: number[] = [];
    const close = () => {
      chunks.push({ ids: this.window(current), weights: this.windowWeights(weights) });
      current = [];
      weights = [];
    };
    for (const { text, weight } of pieces) {
      for (const word of this.words(text)) {
        let ids = word.map((t) => this.idOf(t));
        const cuttable = ids.length >= MAX_WORD_TOKENS;
        while (ids.length > 0) {
          if (current.length + ids.length <= room) {
            current.push(...ids);
            weights.push(...ids.map(() => weight));
            ids = [];
          } else if (cuttable) {
            const take = room - current.length;
            current.push(...ids.slice(0, take));
            weights.push(...ids.slice(0, take).map(() => weight));
            ids = ids.slice(take);
            close();
          } else {
            close();
          }
        }
      }
    }
    close();
    return chunks;
  }

  private windowWeights(weights: readonly number[]): Float32Array {
    const out = new Float32Array(this.maxLength).fill(1);
    out.set(weights, 1);
    return out;
  }

  /** BOS, `ids`, EOS, padding. */
  private window(ids: readonly number[]): Int32Array {
    const out = new Int32Array(this.maxLength).fill(this.padId);
    out[0] = this.bosId;
    out.set(ids, 1);
    out[ids.length + 1] = this.eosId;
    return out;
  }

  private idOf(token: string): number {
    return this.vocab.get(token) ?? this.unkId;
  }

  /**
   * Tokens grouped by whitespace-separated word (Fooocus's unit when chunking); an added
   * token is a word of its own.
   */
  private words(text: string): string[][] {
    const words: string[][] = [];
    for (const raw of splitOnSpecials(text, this.rawSpecials)) {
      if (raw.special) {
        words.push([raw.text]);
        continue;
      }
      for (const piece of splitOnSpecials(normalizeClipText(raw.text), this.normalizedSpecials)) {
        if (piece.special) {
          words.push([piece.text]);
          continue;
        }
        for (const word of piece.text.split(' ')) {
          const tokens = splitClipWords(word).flatMap((part) => this.bpe(part));
          if (tokens.length > 0) words.push(tokens);
        }
      }
    }
    return words;
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
    if (this.cache.size >= BPE_CACHE_SIZE) this.cache.clear();
    this.cache.set(word, symbols);
    return symbols;
  }
}

/** `text` cut around every occurrence of the `specials` (longest first wins at a position). */
function* splitOnSpecials(text: string, specials: readonly string[]): Generator<{ text: string; special: boolean }> {
  let rest = text;
  while (rest.length > 0) {
    let at = -1;
    let found = '';
    for (const special of specials) {
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
