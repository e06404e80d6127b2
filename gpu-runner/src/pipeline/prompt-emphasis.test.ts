import { describe, expect, it } from 'vitest';
import { hasEmphasis, parseEmphasis } from './prompt-emphasis.js';

const pieces = (prompt: string) => parseEmphasis(prompt).map(({ text, weight }) => [text, Number(weight.toFixed(6))]);

describe('parseEmphasis', () => {
  it('leaves a prompt without syntax as one piece of weight 1, text unchanged', () => {
    expect(pieces('a red bag, on marble: studio light')).toEqual([['a red bag, on marble: studio light', 1]]);
    expect(parseEmphasis('')).toEqual([]);
    expect(hasEmphasis(parseEmphasis('plain words'))).toBe(false);
  });

  it('reads (words) as ×1.1, [words] as ÷1.1 and (words:w) as w', () => {
    expect(pieces('a (red) bag')).toEqual([
      ['a ', 1],
      ['red', 1.1],
      [' bag', 1],
    ]);
    expect(pieces('a [red] bag')).toEqual([
      ['a ', 1],
      ['red', 0.909091],
      [' bag', 1],
    ]);
    expect(pieces('(red bag:1.3) on (marble:0.5)')).toEqual([
      ['red bag', 1.3],
      [' on ', 1],
      ['marble', 0.5],
    ]);
    expect(pieces('(a:.75)')).toEqual([['a', 0.75]]);
  });

  it('multiplies nested brackets, and an explicit weight replaces the enclosing one', () => {
    expect(pieces('((red))')).toEqual([['red', 1.21]]);
    expect(pieces('[[red]]')).toEqual([['red', 0.826446]]);
    expect(pieces('([red])')).toEqual([['red', 1]]);
    expect(pieces('(a (b) c)')).toEqual([
      ['a ', 1.1],
      ['b', 1.21],
      [' c', 1.1],
    ]);
    expect(pieces('((red:1.5) bag)')).toEqual([
      ['red', 1.5],
      [' bag', 1.1],
    ]);
    expect(pieces('(red (bag):2)')).toEqual([
      ['red ', 2],
      ['bag', 2.2],
    ]);
  });

  it('keeps escaped brackets literal', () => {
    expect(pieces(String.raw`logo \(TM\) on (box)`)).toEqual([
      ['logo (TM) on ', 1],
      ['box', 1.1],
    ]);
    expect(pieces(String.raw`\[draft\]`)).toEqual([['[draft]', 1]]);
    expect(pieces(String.raw`(a \) b)`)).toEqual([['a ) b', 1.1]]);
  });

  it('keeps unpaired brackets and non-numeric weights as text', () => {
    expect(pieces('a (red bag')).toEqual([['a (red bag', 1]]);
    expect(pieces('a red) bag]')).toEqual([['a red) bag]', 1]]);
    expect(pieces('(ratio 16:9 wide)')).toEqual([['ratio 16:9 wide', 1.1]]);
    // As in Fooocus, a number after the last colon is a weight, whatever the words mean.
    expect(pieces('(ratio 16:9)')).toEqual([['ratio 16', 9]]);
    expect(pieces('(time: noon)')).toEqual([['time: noon', 1.1]]);
    expect(pieces('(red:-1)')).toEqual([['red:-1', 1.1]]);
    expect(pieces('(:1.3)')).toEqual([[':1.3', 1.1]]);
    expect(pieces('( [ a ) ]')).toEqual([
      [' [ a ', 1.1],
      [' ]', 1],
    ]);
  });

  it('drops empty groups and merges neighbours of equal weight', () => {
    expect(pieces('a () b')).toEqual([['a  b', 1]]);
    expect(pieces('(a)(b)')).toEqual([['ab', 1.1]]);
    expect(pieces('(red:1.0) bag')).toEqual([['red bag', 1]]);
    expect(hasEmphasis(parseEmphasis('(red:1.0) bag'))).toBe(false);
  });
});
