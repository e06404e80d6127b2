import { describe, expect, it } from 'vitest';
import { socketUrl } from './socket-url.js';

describe('socketUrl', () => {
  it('maps http(s) to ws(s) and adds the query', () => {
    expect(socketUrl('https://studio.example', '/v1/realtime', { key: 'pk_live_1' })).toBe(
      'wss://studio.example/v1/realtime?key=pk_live_1',
    );
    expect(socketUrl('http://127.0.0.1:8787/', '/v1/runners')).toBe('ws://127.0.0.1:8787/v1/runners');
  });

  it('keeps a path prefix and an explicit ws scheme', () => {
    expect(socketUrl('https://shop.example/atelier', '/v1/realtime', { key: 'pk' })).toBe(
      'wss://shop.example/atelier/v1/realtime?key=pk',
    );
    expect(socketUrl('ws://localhost:1', '/v1/realtime')).toBe('ws://localhost:1/v1/realtime');
  });

  it('throws on something that is not an http(s) or ws(s) URL', () => {
    expect(() => socketUrl('', '/v1/realtime')).toThrow(TypeError);
    expect(() => socketUrl('ftp://files.example', '/v1/realtime')).toThrow(TypeError);
  });
});
