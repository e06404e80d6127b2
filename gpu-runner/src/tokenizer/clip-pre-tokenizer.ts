/**
 * CLIP's text normalisation and word split, shared by the tokenizer and by the BPE trainer
 * that builds the tiny model's vocabulary (so both see exactly the same words).
 */

/**
 * CLIP's split pattern (openai/CLIP `simple_tokenizer.py`): the two special tokens,
 * English contractions, runs of letters, single digits, runs of other non-space symbols.
 */
const CLIP_SPLIT = /<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+/giu;

/**
 * What CLIPTokenizerFast's normalizer does: NFC, collapse whitespace runs, lowercase. The
 * pattern never matches whitespace, so leading/trailing spaces vanish in the split.
 */
export function normalizeClipText(text: string): string {
  return text.normalize('NFC').replace(/\s+/gu, ' ').trim().toLowerCase();
}

/** Words in order, as CLIP's regex finds them in normalised text. */
export function splitClipWords(normalized: string): string[] {
  return Array.from(normalized.matchAll(CLIP_SPLIT), (m) => m[0]);
}
