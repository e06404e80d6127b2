import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

/** A token matched verbatim before BPE (Hugging Face's "added tokens"). */
export interface AddedToken {
  content: string;
  /** Matched in the normalised (lower-cased) text; otherwise in the raw text. */
  normalized: boolean;
}

/** What a CLIP tokenizer needs, whichever form its directory has. */
export interface ClipTokenizerFiles {
  vocab: Record<string, number>;
  /** Merge rules in rank order. */
  merges: [string, string][];
  /** `tokenizer_config.json` merged over `special_tokens_map.json`. */
  config: Record<string, unknown>;
  /** From `tokenizer.json` or `added_tokens_decoder`; empty when the directory lists none. */
  addedTokens: AddedToken[];
}

/**
 * Reads a Hugging Face tokenizer directory in either form:
 * - `vocab.json` + `merges.txt` (+ `tokenizer_config.json`, `special_tokens_map.json`), what
 *   Optimum exports and older transformers write;
 * - `tokenizer.json` + `tokenizer_config.json`, all that current transformers writes.
 * `tokenizer.json` wins when both are present, as in transformers.
 */
export async function readTokenizerFiles(dir: string): Promise<ClipTokenizerFiles> {
  const [tokenizerJson, config, specialTokens] = await Promise.all([
    readJsonIfPresent(join(dir, 'tokenizer.json')),
    readJsonIfPresent(join(dir, 'tokenizer_config.json')),
    readJsonIfPresent(join(dir, 'special_tokens_map.json')),
  ]);
  const merged = { ...(specialTokens ?? {}), ...(config ?? {}) };
  const decoderTokens = addedTokensDecoder(merged.added_tokens_decoder);
  if (tokenizerJson) return { ...fromTokenizerJson(dir, tokenizerJson), config: merged };

  let vocabText: string;
  let mergesText: string;
  try {
    [vocabText, mergesText] = await Promise.all([
      readFile(join(dir, 'vocab.json'), 'utf8'),
      readFile(join(dir, 'merges.txt'), 'utf8'),
    ]);
  } catch (error) {
    throw new Error(`${dir} has neither tokenizer.json nor vocab.json + merges.txt`, { cause: error });
  }
  const merges = mergesText
    .split('\n')
    .filter((line) => line.trim() !== '' && !line.startsWith('#version'))
    .map((line) => pair(line, dir));
  return { vocab: JSON.parse(vocabText) as Record<string, number>, merges, config: merged, addedTokens: decoderTokens };
}

function fromTokenizerJson(dir: string, json: Record<string, unknown>): Omit<ClipTokenizerFiles, 'config'> {
  const model = json.model as { type?: unknown; vocab?: unknown; merges?: unknown; end_of_word_suffix?: unknown } | undefined;
  if (!model || model.type !== 'BPE' || model.end_of_word_suffix !== '</w>') {
    throw new Error(`${dir}/tokenizer.json is not a CLIP BPE tokenizer (model.type BPE with end_of_word_suffix "</w>")`);
  }
  if (typeof model.vocab !== 'object' || model.vocab === null || !Array.isArray(model.merges)) {
    throw new Error(`${dir}/tokenizer.json has no BPE vocab and merges`);
  }
  // tokenizers writes merges as ["a", "b"] pairs since 0.20, as "a b" strings before.
  const merges = (model.merges as unknown[]).map((merge) =>
    Array.isArray(merge) && merge.length === 2
      ? ([String(merge[0]), String(merge[1])] as [string, string])
      : pair(String(merge), dir),
  );
  const addedTokens = Array.isArray(json.added_tokens)
    ? (json.added_tokens as unknown[]).flatMap((token) => addedToken(token) ?? [])
    : [];
  return { vocab: model.vocab as Record<string, number>, merges, addedTokens };
}

function addedTokensDecoder(value: unknown): AddedToken[] {
  if (typeof value !== 'object' || value === null) return [];
  return Object.values(value).flatMap((token) => addedToken(token) ?? []);
}

/**
 * A special token as configs write it: a plain string (matched in the raw text) or an
 * `AddedToken` object with its own `normalized` flag.
 */
export function addedToken(value: unknown): AddedToken | undefined {
  if (typeof value === 'string') return { content: value, normalized: false };
  if (typeof value !== 'object' || value === null) return undefined;
  const { content, normalized } = value as { content?: unknown; normalized?: unknown };
  return typeof content === 'string' ? { content, normalized: normalized === true } : undefined;
}

function pair(line: string, dir: string): [string, string] {
  const parts = line.split(' ');
  if (parts.length !== 2) throw new Error(`${dir}: malformed merge rule ${JSON.stringify(line)}`);
  return [parts[0]!, parts[1]!];
}

async function readJsonIfPresent(path: string): Promise<Record<string, unknown> | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  const value: unknown = JSON.parse(text);
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error(`${path} is not a JSON object`);
  return value as Record<string, unknown>;
}
