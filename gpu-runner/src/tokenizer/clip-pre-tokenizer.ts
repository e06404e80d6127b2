/**
 * CLIP's text normalisation and word split as Hugging Face's CLIPTokenizer (tokenizers
 * backend, no ftfy) performs them, shared by the tokenizer and by the BPE trainer that
 * builds the tiny model's vocabulary (so both see exactly the same words).
 */

/**
 * CLIP's split pattern (openai/CLIP `simple_tokenizer.py`): English contractions, runs of
 * letters, single digits, runs of other non-space symbols. CLIP's pattern also lists the
 * two special tokens, but the ByteLevel step that follows in Hugging Face's pipeline splits
 * them again ("<|", "endoftext", "|>"), so they are left out here: special tokens are only
 * recognised as added tokens, before this split. Whitespace is Unicode White_Space (as the
 * Rust tokenizers' regex engine has it), not JavaScript's `\s`, which adds U+FEFF and lacks
 * U+0085.
 */
const CLIP_SPLIT = /'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\p{White_Space}\p{L}\p{N}]+/gu;
const WHITESPACE_RUNS = /\p{White_Space}+/gu;

/**
 * What CLIPTokenizer's normalizer does: NFC, collapse whitespace runs to one space,
 * lowercase character by character (Rust's `char::to_lowercase`, so a final capital sigma
 * becomes σ, not ς as `String.prototype.toLowerCase` would make it).
 */
export function normalizeClipText(text: string): string {
  const collapsed = text.normalize('NFC').replace(WHITESPACE_RUNS, ' ');
  let out = '';
  for (const char of collapsed) out += char.toLowerCase();
  return out;
}

/** Words in order, as CLIP's pattern finds them in normalised text. */
export function splitClipWords(normalized: string): string[] {
  return Array.from(normalized.matchAll(CLIP_SPLIT), (m) => m[0]);
}
