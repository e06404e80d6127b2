import { describe, expect, it } from 'vitest';
import { originOf, realtimeUrl } from './server-url.js';

describe('originOf', () => {
  it('is the origin a script was served from', () => {
    expect(originOf('https://studio.example/widget.js?v=3')).toBe('https://studio.example');
    expect(originOf('http://127.0.0.1:8787/widget.js')).toBe('http://127.0.0.1:8787');
  });

  it('is empty for scripts without an origin', () => {
    expect(originOf('data:text/javascript,1')).toBe('');
    expect(originOf('not a url')).toBe('');
  });
});

describe('realtimeUrl', () => {
  it('maps http(s) to ws(s) and carries the key and session', () => {
    expect(realtimeUrl({ server: 'https://studio.example', publishableKey: 'pk_live_1' })).toBe(
      'wss://studio.example/v1/realtime?key=pk_live_1',
    );
    expect(realtimeUrl({ server: 'http://127.0.0.1:8787/', publishableKey: 'pk_test_1', sessionToken: 's.t' })).toBe(
      'ws://127.0.0.1:8787/v1/realtime?key=pk_test_1&session=s.t',
    );
  });

  it('keeps a path prefix and an explicit ws scheme', () => {
    expect(realtimeUrl({ server: 'https://shop.example/atelier', publishableKey: 'pk' })).toBe(
      'wss://shop.example/atelier/v1/realtime?key=pk',
    );
    expect(realtimeUrl({ server: 'ws://localhost:1', publishableKey: 'pk' })).toBe('ws://localhost:1/v1/realtime?key=pk');
  });

  it('throws on something that is not a URL', () => {
    expect(() => realtimeUrl({ server: '', publishableKey: 'pk' })).toThrow();
  });
});
