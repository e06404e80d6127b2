/**
 * GPT-2/CLIP byte-level alphabet: every byte maps to one printable unicode character, so
 * BPE can work on strings without ever meeting whitespace or control characters. The
 * printable Latin-1 bytes map to themselves; the other 68 take code points from 256 up,
 * in byte order.
 */
function buildByteTable(): { byByte: string[]; alphabet: string[] } {
  const printable: number[] = [];
  for (let b = 0x21; b <= 0x7e; b++) printable.push(b);
  for (let b = 0xa1; b <= 0xac; b++) printable.push(b);
  for (let b = 0xae; b <= 0xff; b++) printable.push(b);
  const byByte = new Array<string>(256);
  const alphabet: string[] = [];
  for (const b of printable) {
    const char = String.fromCharCode(b);
    byByte[b] = char;
    alphabet.push(char);
  }
  let next = 0;
  for (let b = 0; b < 256; b++) {
    if (byByte[b] !== undefined) continue;
    const char = String.fromCharCode(256 + next);
    byByte[b] = char;
    alphabet.push(char);
    next += 1;
  }
  return { byByte, alphabet };
}

const table = buildByteTable();

/** `BYTE_TO_UNICODE[b]` is the character standing for byte `b`. */
export const BYTE_TO_UNICODE: readonly string[] = table.byByte;

/**
 * The 256 byte characters in vocabulary order (CLIP's `list(bytes_to_unicode().values())`):
 * printable bytes first, then the remapped ones. Vocabulary ids 0..255 follow this order.
 */
export const BYTE_ALPHABET: readonly string[] = table.alphabet;

const encoder = new TextEncoder();

/** The UTF-8 bytes of `text`, each replaced by its byte-level character. */
export function toByteCharacters(text: string): string[] {
  return Array.from(encoder.encode(text), (b) => BYTE_TO_UNICODE[b]!);
}
