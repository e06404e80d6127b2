import { describe, expect, it } from 'vitest';
import { EMBED_MESSAGE_SOURCE, isEmbedToHostMessage, isHostToEmbedMessage } from './embed.js';

const source = EMBED_MESSAGE_SOURCE;

describe('the iframe bridge messages', () => {
  it.each([
    [{ source, type: 'ready' }, true],
    [{ source, type: 'resize', height: 812 }, true],
    [{ source, type: 'event', name: 'atelier-complete', detail: { images: [] } }, true],
    [{ source, type: 'resize', height: -1 }, false],
    [{ source, type: 'resize', height: Number.POSITIVE_INFINITY }, false],
    [{ source, type: 'resize', height: '812' }, false],
    [{ source, type: 'event', name: 'click', detail: {} }, false],
    [{ source: 'someone-else', type: 'ready' }, false],
    [{ source, type: 'attributes', attributes: {} }, false],
    ['ready', false],
    [null, false],
  ])('the host page takes %j: %s', (data, accepted) => {
    expect(isEmbedToHostMessage(data)).toBe(accepted);
  });

  it.each([
    [{ source, type: 'attributes', attributes: { locale: 'de', 'product-image': null } }, true],
    [{ source, type: 'attributes', attributes: {} }, true],
    [{ source, type: 'attributes', attributes: { 'publishable-key': 'pk_live_x' } }, false],
    [{ source, type: 'attributes', attributes: { onclick: 'alert(1)' } }, false],
    [{ source, type: 'attributes', attributes: { locale: 5 } }, false],
    [{ source, type: 'attributes', attributes: null }, false],
    [{ source, type: 'ready' }, false],
  ])('the embed page takes %j: %s', (data, accepted) => {
    expect(isHostToEmbedMessage(data)).toBe(accepted);
  });
});
