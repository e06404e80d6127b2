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
  it('is the realtime path on the server, carrying the publishable key', () => {
    expect(realtimeUrl({ server: 'https://studio.example/atelier', publishableKey: 'pk_live_1' })).toBe(
      'wss://studio.example/atelier/v1/realtime?key=pk_live_1',
    );
  });

  it('throws on something that is not a URL', () => {
    expect(() => realtimeUrl({ server: '', publishableKey: 'pk' })).toThrow();
  });
});
