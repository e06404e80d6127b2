import type { Watermark } from '@atelier/protocol';
import { drawableText, glyph, GLYPH_HEIGHT, GLYPH_WIDTH } from './watermark-font.js';

/** One pixel cell between letters; the shadow sits one cell right and down of the letters. */
const ADVANCE = GLYPH_WIDTH + 1;

/**
 * Draws the tenant's text watermark into 8-bit RGB pixels, in place, before the image is
 * encoded: the runner never sends an unmarked copy. White letters over a dark shadow (so
 * they read on light and dark images alike), `opacity` of each blended over the image,
 * the letters `scale` of the image's height tall, in the corner (or centre) `position`
 * names, inset by 2% of the shorter side. A text too wide for the image is drawn smaller,
 * and at the smallest size cut short.
 */
export function applyWatermark(rgb: Buffer, width: number, height: number, mark: Watermark): void {
  const margin = watermarkMargin(width, height);
  let text = drawableText(mark.text);
  const room = width - 2 * margin - 1;
  let cell = Math.max(1, Math.round((mark.scale * height) / GLYPH_HEIGHT));
  cell = Math.max(1, Math.min(cell, Math.floor(room / (text.length * ADVANCE))));
  text = text.slice(0, Math.max(0, Math.floor((room + cell) / (ADVANCE * cell))));
  if (!text) return;
  const textWidth = (text.length * ADVANCE - 1) * cell;
  const textHeight = GLYPH_HEIGHT * cell;
  const [horizontal, vertical] = placement(mark.position);
  const left =
    horizontal === 'left' ? margin : horizontal === 'right' ? width - margin - textWidth - cell : (width - textWidth) >> 1;
  const top =
    vertical === 'top' ? margin : vertical === 'bottom' ? height - margin - textHeight - cell : (height - textHeight) >> 1;

  const blend = (x: number, y: number, value: number, alpha: number) => {
    if (x < 0 || y < 0 || x >= width || y >= height) return;
    const at = (y * width + x) * 3;
    for (let c = 0; c < 3; c++) rgb[at + c] = Math.round(rgb[at + c]! * (1 - alpha) + value * alpha);
  };
  const paint = (offset: number, value: number, alpha: number) => {
    [...text].forEach((char, index) => {
      glyph(char).forEach((row, gy) =>
        row.forEach((on, gx) => {
          if (!on) return;
          const x0 = left + (index * ADVANCE + gx) * cell + offset;
          const y0 = top + gy * cell + offset;
          for (let dy = 0; dy < cell; dy++) for (let dx = 0; dx < cell; dx++) blend(x0 + dx, y0 + dy, value, alpha);
        }),
      );
    });
  };
  paint(cell, 0, mark.opacity * 0.6);
  paint(0, 255, mark.opacity);
}

/** The inset of a watermark from the image's edges: 2% of the shorter side. */
export function watermarkMargin(width: number, height: number): number {
  return Math.max(2, Math.round(0.02 * Math.min(width, height)));
}

export function placement(position: Watermark['position']): ['left' | 'right' | 'centre', 'top' | 'bottom' | 'centre'] {
  switch (position) {
    case 'top-left':
      return ['left', 'top'];
    case 'top-right':
      return ['right', 'top'];
    case 'bottom-left':
      return ['left', 'bottom'];
    case 'bottom-right':
      return ['right', 'bottom'];
    case 'center':
      return ['centre', 'centre'];
  }
}
