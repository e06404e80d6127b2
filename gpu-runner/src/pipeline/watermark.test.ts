import type { Watermark } from '@atelier/protocol';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { encodeImage } from './image-output.js';
import { applyWatermark } from './watermark.js';
import { applyLogoWatermark, logoStamp } from './watermark-logo.js';
import { FONT_CHARACTERS, glyph, GLYPH_HEIGHT, GLYPH_WIDTH } from './watermark-font.js';

const WIDTH = 320;
const HEIGHT = 200;
const grey = () => Buffer.alloc(WIDTH * HEIGHT * 3, 128);
const mark = (overrides: Partial<Watermark> = {}): Watermark => ({
  text: 'Acme Home',
  position: 'bottom-right',
  opacity: 0.5,
  scale: 0.05,
  ...overrides,
});

const brightest = (image: Buffer) => image.reduce((a, b) => Math.max(a, b), 0);
const darkest = (image: Buffer) => image.reduce((a, b) => Math.min(a, b), 255);

/** The box around every pixel that differs between two images, or undefined when none does. */
function changedBox(before: Buffer, after: Buffer) {
  let box: { left: number; top: number; right: number; bottom: number } | undefined;
  for (let p = 0; p < WIDTH * HEIGHT; p++) {
    if (before[p * 3] === after[p * 3] && before[p * 3 + 1] === after[p * 3 + 1] && before[p * 3 + 2] === after[p * 3 + 2])
      continue;
    const x = p % WIDTH;
    const y = Math.floor(p / WIDTH);
    box = box
      ? { left: Math.min(box.left, x), top: Math.min(box.top, y), right: Math.max(box.right, x), bottom: Math.max(box.bottom, y) }
      : { left: x, top: y, right: x, bottom: y };
  }
  return box;
}

describe('the watermark font', () => {
  it.each(FONT_CHARACTERS)('draws %j in 5×7 pixels', (char) => {
    const rows = glyph(char);
    expect(rows).toHaveLength(GLYPH_HEIGHT);
    for (const row of rows) expect(row).toHaveLength(GLYPH_WIDTH);
  });
});

describe('applyWatermark', () => {
  it.each([
    ['bottom-right', (b: NonNullable<ReturnType<typeof changedBox>>) => b.left > WIDTH / 2 && b.top > HEIGHT / 2],
    ['bottom-left', (b: NonNullable<ReturnType<typeof changedBox>>) => b.right < WIDTH / 2 && b.top > HEIGHT / 2],
    ['top-right', (b: NonNullable<ReturnType<typeof changedBox>>) => b.left > WIDTH / 2 && b.bottom < HEIGHT / 2],
    ['top-left', (b: NonNullable<ReturnType<typeof changedBox>>) => b.right < WIDTH / 2 && b.bottom < HEIGHT / 2],
    [
      'center',
      (b: NonNullable<ReturnType<typeof changedBox>>) => b.left < WIDTH / 2 && b.right > WIDTH / 2 && b.top < HEIGHT / 2,
    ],
  ] as const)('draws the text at %s, inside the image, and nowhere else', (position, where) => {
    const image = grey();
    applyWatermark(image, WIDTH, HEIGHT, mark({ position }));
    const box = changedBox(grey(), image)!;
    expect(box).toBeDefined();
    expect(where(box)).toBe(true);
    expect(box.bottom - box.top + 1).toBeLessThanOrEqual(Math.ceil(0.05 * HEIGHT) + 2);
    // Light letters over a dark shadow: both directions from the grey.
    expect(brightest(image)).toBeGreaterThan(128);
    expect(darkest(image)).toBeLessThan(128);
  });

  it('blends by opacity, and sizes the letters by scale', () => {
    const faint = grey();
    const strong = grey();
    applyWatermark(faint, WIDTH, HEIGHT, mark({ opacity: 0.1 }));
    applyWatermark(strong, WIDTH, HEIGHT, mark({ opacity: 1 }));
    expect(brightest(faint)).toBeLessThan(brightest(strong));
    expect(brightest(strong)).toBe(255);

    const small = grey();
    const large = grey();
    applyWatermark(small, WIDTH, HEIGHT, mark({ scale: 0.04 }));
    applyWatermark(large, WIDTH, HEIGHT, mark({ scale: 0.2 }));
    const height = (image: Buffer) => {
      const box = changedBox(grey(), image)!;
      return box.bottom - box.top;
    };
    expect(height(large)).toBeGreaterThan(3 * height(small));
  });

  it('draws a text too long for the image smaller, and cut short, but always inside it', () => {
    const image = grey();
    applyWatermark(image, WIDTH, HEIGHT, mark({ text: 'W'.repeat(40), scale: 0.25, position: 'top-left' }));
    const box = changedBox(grey(), image)!;
    expect(box.left).toBeGreaterThanOrEqual(2);
    expect(box.right).toBeLessThan(WIDTH - 2);
  });

  it('is in the encoded bytes: the decoded image differs from an unmarked one only where the text is', async () => {
    const pixels = grey();
    const marked = await encodeImage(pixels, WIDTH, HEIGHT, { outputFormat: 'png', watermark: mark() });
    const plain = await encodeImage(pixels, WIDTH, HEIGHT, { outputFormat: 'png' });
    const decode = async (bytes: Buffer) => (await sharp(bytes).raw().toBuffer({ resolveWithObject: true })).data;
    const box = changedBox(await decode(plain), await decode(marked))!;
    expect(box.left).toBeGreaterThan(WIDTH / 2);
    expect(box.top).toBeGreaterThan(HEIGHT / 2);
    // The caller's pixels are left as they were.
    expect(pixels.equals(grey())).toBe(true);
  });
});

describe('applyLogoWatermark', () => {
  // A 40×20 logo: opaque red, half-transparent green in its right half.
  const logo = () => {
    const data = Buffer.alloc(40 * 20 * 4);
    for (let i = 0; i < 40 * 20; i++) data.set(i % 40 < 20 ? [255, 0, 0, 255] : [0, 255, 0, 128], i * 4);
    return { data, width: 40, height: 20 };
  };

  it('blends each logo pixel by its alpha times the opacity, at the position, scale of the height tall', async () => {
    const image = grey();
    const style = mark({ logoAssetId: `upl_${'A'.repeat(20)}`, position: 'bottom-left', opacity: 0.5, scale: 0.1 });
    const stamp = await logoStamp(logo(), WIDTH, HEIGHT, style);
    expect([stamp.width, stamp.height]).toEqual([40, 20]);
    applyLogoWatermark(image, WIDTH, HEIGHT, style, stamp);
    const box = changedBox(grey(), image)!;
    const margin = Math.round(0.02 * HEIGHT);
    expect(box).toEqual({ left: margin, right: margin + 39, top: HEIGHT - margin - 20, bottom: HEIGHT - margin - 1 });
    const at = (x: number, y: number) => [...image.subarray((y * WIDTH + x) * 3, (y * WIDTH + x) * 3 + 3)];
    // 128 · (1 − 0.5) + 255 · 0.5, and green at alpha 128/255 · 0.5.
    expect(at(margin + 5, box.top + 10)).toEqual([192, 64, 64]);
    const alpha = (128 / 255) * 0.5;
    expect(at(margin + 30, box.top + 10)).toEqual([
      Math.round(128 * (1 - alpha)),
      Math.round(128 * (1 - alpha) + 255 * alpha),
      Math.round(128 * (1 - alpha)),
    ]);
  });

  it('shrinks a logo too wide for the image to fit between the margins', async () => {
    const wide = { data: Buffer.alloc(2000 * 10 * 4, 255), width: 2000, height: 10 };
    const stamp = await logoStamp(wide, WIDTH, HEIGHT, mark({ scale: 0.25 }));
    expect(stamp.width).toBe(WIDTH - 2 * Math.round(0.02 * HEIGHT));
    expect(stamp.height).toBeLessThan(10);
  });

  it('will not encode a logo watermark without its logo', async () => {
    await expect(
      encodeImage(grey(), WIDTH, HEIGHT, { outputFormat: 'png', watermark: mark({ logoAssetId: `upl_${'A'.repeat(20)}` }) }),
    ).rejects.toMatchObject({ code: 'invalid_params' });
  });
});
