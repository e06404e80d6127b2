import { describe, expect, it } from 'vitest';
import { ifRangeHolds, noneMatch, resolveRangeHeader } from './file-routes-headers.js';

const partial = (start: number, end: number) => ({ kind: 'partial', range: { start, end } });
const WHOLE = { kind: 'whole' };
const UNSATISFIABLE = { kind: 'unsatisfiable' };

describe('resolveRangeHeader', () => {
  it.each([
    ['bytes=0-9', 100, partial(0, 9)],
    ['bytes=10-10', 100, partial(10, 10)],
    ['bytes=90-', 100, partial(90, 99)],
    ['bytes=90-1000', 100, partial(90, 99)],
    ['bytes=99-99', 100, partial(99, 99)],
    ['bytes=-10', 100, partial(90, 99)],
    ['bytes=-100', 100, partial(0, 99)],
    ['bytes=-500', 100, partial(0, 99)],
    ['Bytes = 5-6', 100, partial(5, 6)],
    ['bytes= 5-6 ', 100, partial(5, 6)],
    ['bytes=0-99999999999999999999', 100, partial(0, 99)],
  ])('%s of %i bytes is a part', (header, size, answer) => {
    expect(resolveRangeHeader(header, size)).toEqual(answer);
  });

  it.each([
    ['bytes=100-', 100],
    ['bytes=100-200', 100],
    ['bytes=99999999999999999999-', 100],
    ['bytes=-0', 100],
    ['bytes=0-0', 0],
    ['bytes=-5', 0],
  ])('%s of %i bytes is unsatisfiable', (header, size) => {
    expect(resolveRangeHeader(header, size)).toEqual(UNSATISFIABLE);
  });

  it.each([
    [undefined],
    ['bytes=9-5'],
    ['bytes=0-1,5-6'],
    ['bytes=0-1, 200-300'],
    ['items=0-5'],
    ['bytes'],
    ['bytes=-'],
    ['bytes=a-b'],
    ['bytes=1-2-3'],
    ['bytes=+1-2'],
    ['bytes=0x10-20'],
    ['bytes=1.5-2'],
    [`bytes=0-${'9'.repeat(300)}`],
  ])('%s is answered whole', (header) => {
    expect(resolveRangeHeader(header, 100)).toEqual(WHOLE);
  });
});

describe('ifRangeHolds', () => {
  it('holds without If-Range, and for exactly the current ETag only', () => {
    expect(ifRangeHolds(undefined, '"img_1"')).toBe(true);
    expect(ifRangeHolds('"img_1"', '"img_1"')).toBe(true);
    expect(ifRangeHolds('"img_2"', '"img_1"')).toBe(false);
    expect(ifRangeHolds('W/"img_1"', '"img_1"')).toBe(false);
    expect(ifRangeHolds('Wed, 21 Oct 2015 07:28:00 GMT', '"img_1"')).toBe(false);
  });
});

describe('noneMatch', () => {
  it('matches the ETag (weakly), in a list, and *; nothing else', () => {
    expect(noneMatch(undefined, '"img_1"')).toBe(false);
    expect(noneMatch('"img_1"', '"img_1"')).toBe(true);
    expect(noneMatch('W/"img_1"', '"img_1"')).toBe(true);
    expect(noneMatch('"img_0", "img_1"', '"img_1"')).toBe(true);
    expect(noneMatch('*', '"img_1"')).toBe(true);
    expect(noneMatch('"img_2"', '"img_1"')).toBe(false);
    expect(noneMatch('img_1', '"img_1"')).toBe(false);
    expect(noneMatch('', '"img_1"')).toBe(false);
  });
});
