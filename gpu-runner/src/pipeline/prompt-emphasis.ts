/**
 * The prompt emphasis syntax Fooocus (after ComfyUI and A1111) users write:
 *
 * - `(words)` multiplies the enclosing weight by 1.1, `((words))` by 1.21, and so on;
 * - `(words:1.3)` sets the weight of `words` to 1.3, whatever encloses it (Fooocus's rule:
 *   an explicit weight is absolute, not multiplied);
 * - `[words]` divides the enclosing weight by 1.1;
 * - `\(`, `\)`, `\[`, `\]` are the literal characters;
 * - a bracket without its partner is literal, and so is `(words:x)` when `x` is not a
 *   number (the text keeps `:x` and gets the ×1.1).
 *
 * The result is the prompt as consecutive pieces of text, each with one weight.
 */

export interface EmphasisPiece {
  text: string;
  weight: number;
}

const STEP = 1.1;
const ESCAPABLE = new Set(['(', ')', '[', ']']);
const CLOSER: Record<string, string> = { '(': ')', '[': ']' };
const EXPLICIT_WEIGHT = /^\s*(\d+(?:\.\d*)?|\.\d+)\s*$/;

/** A character of the prompt: `literal` when it came from an escape or cannot pair. */
interface Char {
  c: string;
  literal: boolean;
}

/** `prompt` as weighted pieces, adjacent pieces of equal weight merged; never empty pieces. */
export function parseEmphasis(prompt: string): EmphasisPiece[] {
  const chars = unescape(prompt);
  const pieces: EmphasisPiece[] = [];
  walk(chars, 0, chars.length, 1, pieces, matchBrackets(chars));
  return pieces;
}

/** Whether any piece of `pieces` weighs other than 1. */
export function hasEmphasis(pieces: readonly EmphasisPiece[]): boolean {
  return pieces.some((piece) => piece.weight !== 1);
}

function unescape(prompt: string): Char[] {
  const chars: Char[] = [];
  for (let i = 0; i < prompt.length; i++) {
    const c = prompt[i]!;
    const next = prompt[i + 1];
    if (c === '\\' && next !== undefined && ESCAPABLE.has(next)) {
      chars.push({ c: next, literal: true });
      i += 1;
    } else {
      chars.push({ c, literal: false });
    }
  }
  return chars;
}

/** For each opening bracket that has a partner, the partner's index (innermost pairs first, kinds nest properly). */
function matchBrackets(chars: readonly Char[]): Map<number, number> {
  const pairs = new Map<number, number>();
  const open: number[] = [];
  for (let i = 0; i < chars.length; i++) {
    const { c, literal } = chars[i]!;
    if (literal) continue;
    if (c === '(' || c === '[') open.push(i);
    else if (c === ')' || c === ']') {
      // A closer pairs with the nearest unclosed opener of its kind; openers of the other
      // kind in between are left unpaired (literal).
      const at = open.findLastIndex((index) => CLOSER[chars[index]!.c] === c);
      if (at === -1) continue;
      pairs.set(open[at]!, i);
      open.length = at;
    }
  }
  return pairs;
}

function walk(
  chars: readonly Char[],
  from: number,
  to: number,
  weight: number,
  out: EmphasisPiece[],
  pairs: Map<number, number>,
): void {
  let text = '';
  const flush = () => {
    if (text) push(out, { text, weight });
    text = '';
  };
  for (let i = from; i < to; i++) {
    const { c, literal } = chars[i]!;
    const close = literal ? undefined : pairs.get(i);
    if (close === undefined || close >= to) {
      // Unpaired brackets are text like any other character.
      text += c;
      continue;
    }
    flush();
    if (c === '[') {
      walk(chars, i + 1, close, weight / STEP, out, pairs);
    } else {
      const colon = topLevelColon(chars, i + 1, close, pairs);
      const explicit = colon === undefined ? undefined : EXPLICIT_WEIGHT.exec(joined(chars, colon + 1, close));
      if (colon !== undefined && explicit) walk(chars, i + 1, colon, Number(explicit[1]), out, pairs);
      else walk(chars, i + 1, close, weight * STEP, out, pairs);
    }
    i = close;
  }
  flush();
}

/** The last unescaped `:` between `from` and `to` outside nested brackets (Fooocus takes the last colon). */
function topLevelColon(chars: readonly Char[], from: number, to: number, pairs: Map<number, number>): number | undefined {
  let found: number | undefined;
  for (let i = from; i < to; i++) {
    const close = chars[i]!.literal ? undefined : pairs.get(i);
    if (close !== undefined) {
      i = close;
      continue;
    }
    if (chars[i]!.c === ':' && i > from) found = i;
  }
  return found;
}

function joined(chars: readonly Char[], from: number, to: number): string {
  return chars
    .slice(from, to)
    .map((char) => char.c)
    .join('');
}

function push(out: EmphasisPiece[], piece: EmphasisPiece): void {
  const last = out.at(-1);
  if (last && last.weight === piece.weight) last.text += piece.text;
  else out.push(piece);
}
