import type { ByteRange } from '../../storage/storage.js';

// How the file route reads a request's `Range`, `If-Range` and `If-None-Match`.

/** What a request's `Range` asks of a file of known size (RFC 9110, section 14). */
export type RangeAnswer = { kind: 'whole' } | { kind: 'partial'; range: ByteRange } | { kind: 'unsatisfiable' };

/** Longer than any honest single range; a longer header is ignored rather than parsed. */
const MAX_HEADER = 200;
const SPEC = /^(\d*)-(\d*)$/;

/**
 * One byte range, resolved against the file's size. Anything this server does not
 * answer with a part is answered whole, as the RFC allows a server to ignore `Range`:
 * a unit other than bytes, a header that does not parse, a range whose last byte comes
 * before its first, and several ranges (which would need a multipart/byteranges body
 * that no image client asks for). Only a well-formed range that starts at or past the
 * end, or a zero-length suffix, is unsatisfiable (416).
 *
 * Written here rather than taken from `range-parser` (Express's `req.range`), which
 * refuses a suffix longer than the file (the RFC says: the whole file) and calls a
 * backwards range unsatisfiable (the RFC says: invalid, so ignored).
 */
export function resolveRangeHeader(header: string | undefined, size: number): RangeAnswer {
  if (header === undefined || header.length > MAX_HEADER) return { kind: 'whole' };
  const equals = header.indexOf('=');
  if (equals < 0 || header.slice(0, equals).trim().toLowerCase() !== 'bytes') return { kind: 'whole' };
  const specs = header.slice(equals + 1).split(',');
  if (specs.length !== 1) return { kind: 'whole' };
  const match = SPEC.exec(specs[0]!.trim());
  if (!match) return { kind: 'whole' };
  const [, first, last] = match as unknown as [string, string, string];
  if (first === '' && last === '') return { kind: 'whole' };

  if (first === '') {
    // `bytes=-N`: the last N bytes, or all of them when the file is shorter.
    const suffix = Number(last);
    if (suffix === 0 || size === 0) return { kind: 'unsatisfiable' };
    return { kind: 'partial', range: { start: Math.max(0, size - suffix), end: size - 1 } };
  }
  const start = Number(first);
  const end = last === '' ? Infinity : Number(last);
  if (end < start) return { kind: 'whole' };
  if (start >= size) return { kind: 'unsatisfiable' };
  return { kind: 'partial', range: { start, end: Math.min(end, size - 1) } };
}

/**
 * `If-Range`: send the part only while the client's copy is still this one; otherwise
 * the whole file. This server's validator is the strong ETag it sends; a date (the
 * other form) never matches, since no `Last-Modified` is sent.
 */
export function ifRangeHolds(ifRange: string | undefined, etag: string): boolean {
  return ifRange === undefined || ifRange.trim() === etag;
}

/**
 * `If-None-Match` (RFC 9110, 13.1.2): true when the client's copy is this one (weak
 * comparison, `*` for any), so a 304 is the answer. Written here rather than taken from
 * Express's `req.fresh`, which also says "not fresh" to any request carrying
 * `Cache-Control: no-cache`: a cache's rule, which fetch() adds to every conditional
 * request, and which would turn every revalidation into a full download.
 */
export function noneMatch(ifNoneMatch: string | undefined, etag: string): boolean {
  if (ifNoneMatch === undefined) return false;
  if (ifNoneMatch.trim() === '*') return true;
  const opaque = (tag: string) => tag.trim().replace(/^W\//, '');
  return ifNoneMatch.split(',').some((tag) => opaque(tag) === opaque(etag));
}
