import { foldTerm } from './fold-text.js';

/** Terms folded for matching: each one's letters, with what to report when it matches. */
export class TermSet<T> {
  private readonly terms = new Map<string, T>();
  private longest = 0;

  add(term: string, value: T): void {
    const letters = foldTerm(term).join('');
    if (!letters) return;
    for (const form of [letters, `${letters}s`, `${letters}es`]) if (!this.terms.has(form)) this.terms.set(form, value);
    this.longest = Math.max(this.longest, letters.length + 2);
  }

  get size(): number {
    return this.terms.size;
  }

  /**
   * Every run of whole tokens whose letters, run together, spell a term: `n u d e`,
   * `self harm` and `selfharm` all spell `selfharm`/`nude`. Runs start and end at token
   * edges, so a term inside a longer word (`Essex`, `unisex`) is not one.
   */
  *matches(tokens: readonly string[]): Generator<{ from: number; to: number; value: T }> {
    for (let from = 0; from < tokens.length; from++) {
      let letters = '';
      for (let to = from; to < tokens.length; to++) {
        letters += tokens[to]!;
        if (letters.length > this.longest) break;
        const value = this.terms.get(letters);
        if (value !== undefined) yield { from, to: to + 1, value };
      }
    }
  }
}
