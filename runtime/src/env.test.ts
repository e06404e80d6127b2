import { describe, expect, it } from 'vitest';
import { ConfigError, absolutePath, httpUrl, integer, optional } from './env.js';

function refusal(read: () => unknown): ConfigError {
  try {
    read();
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('no ConfigError');
}

describe('environment readers', () => {
  it('treat an empty variable as unset', () => {
    expect(optional({ A: '' }, 'A')).toBeUndefined();
    expect(optional({ A: 'x' }, 'A')).toBe('x');
    expect(integer({ N: '' }, 'N', 7, 0, 10)).toBe(7);
    expect(httpUrl({ U: '' }, 'U')).toBeUndefined();
    expect(absolutePath({ P: '' }, 'P', '/srv')).toBeUndefined();
  });

  it('read integers written plainly, within bounds', () => {
    expect(integer({ N: '8080' }, 'N', 1, 0, 65535)).toBe(8080);
    expect(integer({ N: '0' }, 'N', 1, 0, 65535)).toBe(0);
    expect(integer({ N: '-5' }, 'N', 1, -10, 10)).toBe(-5);
  });

  it.each(['eighty', '1e3', '0x10', ' 80', '80 ', '8.5', '70000', '-1', '9'.repeat(20)])(
    'refuse the integer "%s" with one line naming the variable',
    (raw) => {
      const error = refusal(() => integer({ PORT: raw }, 'PORT', 8787, 0, 65535));
      expect(error.variable).toBe('PORT');
      expect(error.message).toBe(`PORT: must be an integer from 0 to 65535 (got "${raw}")`);
    },
  );

  it('read http(s) URLs without their trailing slash, and refuse anything else', () => {
    expect(httpUrl({ U: 'https://studio.example/' }, 'U')).toBe('https://studio.example');
    expect(httpUrl({ U: 'http://127.0.0.1:8787/base/' }, 'U')).toBe('http://127.0.0.1:8787/base');
    for (const raw of ['ftp://studio.example', 'not a url', 'ws://studio.example']) {
      expect(refusal(() => httpUrl({ U: raw }, 'U')).message).toBe(`U: must be an http(s) URL (got "${raw}")`);
    }
  });

  it('make relative paths absolute against the working directory', () => {
    expect(absolutePath({ P: 'var/data' }, 'P', '/srv/app')).toBe('/srv/app/var/data');
    expect(absolutePath({ P: '/data' }, 'P', '/srv/app')).toBe('/data');
  });
});
