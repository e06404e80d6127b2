/**
 * Folds text to the form the prompt policy compares: lower-case ASCII letters in
 * tokens, so that spelling tricks meet the term they hide. Undone here:
 * - case, and accents and other marks (`NÜDE` → `nude`), compatibility forms
 *   (full-width `ｎｕｄｅ`, ligatures) by Unicode normalisation;
 * - homoglyphs: Cyrillic and Greek letters that look Latin (`nudе` with a Cyrillic е);
 * - leetspeak: digits and symbols standing for letters (`nud3`, `p0rn`, `$ex`), in two
 *   readings where one character stands for two letters (`1` as i or l);
 * - punctuation inside a word (`n.u.d.e`, `s-e-x`) and invisible characters.
 * Spacing (`n u d e`) is undone where the tokens are compared (`matchTerms`).
 */

/** Letters from other scripts that are drawn like a Latin one. */
const HOMOGLYPHS: Readonly<Record<string, string>> = {
  // Cyrillic
  а: 'a',
  в: 'b',
  е: 'e',
  ё: 'e',
  к: 'k',
  м: 'm',
  н: 'h',
  о: 'o',
  р: 'p',
  с: 'c',
  т: 't',
  у: 'y',
  х: 'x',
  і: 'i',
  ї: 'i',
  ј: 'j',
  ѕ: 's',
  ԁ: 'd',
  ɡ: 'g',
  һ: 'h',
  ԛ: 'q',
  ԝ: 'w',
  ү: 'y',
  // Greek
  α: 'a',
  β: 'b',
  ε: 'e',
  η: 'n',
  ι: 'i',
  κ: 'k',
  ν: 'v',
  ο: 'o',
  ρ: 'p',
  τ: 't',
  υ: 'u',
  χ: 'x',
  ω: 'w',
  // Latin look-alikes Unicode normalisation keeps apart
  ı: 'i',
  ł: 'l',
  ø: 'o',
  đ: 'd',
  ħ: 'h',
  ß: 'ss',
  æ: 'ae',
  œ: 'oe',
};

/** Characters that stand for letters in leetspeak; the second reading is for the ambiguous ones. */
const LEET: Readonly<Record<string, readonly [string, string?]>> = {
  '0': ['o'],
  '1': ['i', 'l'],
  '3': ['e'],
  '4': ['a'],
  '5': ['s'],
  '7': ['t'],
  '8': ['b'],
  '9': ['g'],
  '@': ['a'],
  $: ['s'],
  '!': ['i', 'l'],
  '|': ['l', 'i'],
  '+': ['t'],
  '€': ['e'],
};

/** Zero-width and other format characters that split a word without showing. */
const INVISIBLE = /[\p{Cf}\u034f\u115f\u1160\u3164]/gu;

/**
 * The readings of `text` as token lists: the first reads each leet character its usual
 * way, the second its other way (the same list when nothing is ambiguous).
 */
export function foldText(text: string): [string[], string[]] {
  const base = text.normalize('NFKD').replace(INVISIBLE, '').replace(/\p{M}/gu, '').toLowerCase();
  const readings: [string[], string[]] = [[], []];
  for (const word of base.split(/\s+/).map(trimPunctuation)) {
    // A number (a size, a year, 1024x768) is neither a word nor leetspeak.
    if (/^(?=.*\d)[\d.,:/x×-]+$/.test(word)) continue;
    for (const [reading, tokens] of readings.entries()) {
      let folded = '';
      for (const char of word) {
        const letter = HOMOGLYPHS[char] ?? char;
        const leet = LEET[letter];
        folded += leet ? (leet[reading] ?? leet[0]) : letter;
      }
      const token = folded.replace(/[^a-z]/g, '');
      if (token) tokens.push(token);
    }
  }
  return readings;
}

/** Sentence punctuation around a word (`gun!`, `"nude"`), which is not leetspeak there. */
function trimPunctuation(word: string): string {
  return word.replace(/^["'“”‘’«»([{]+/u, '').replace(/["'“”‘’«»)\]}.,;:?!]+$/u, '');
}

/** A term folded the way prompts are (its first reading): the tokens it must match. */
export function foldTerm(term: string): string[] {
  return foldText(term)[0];
}
