import { describe, expect, it } from 'vitest';
import { blendTiles, tileStarts, type TileGrid } from './upscale.js';

/**
 * Tiles whose predictions disagree as much as possible: each predicts a constant of its
 * own (10 × its left edge). Where two meet, the blended prediction must not jump.
 */
async function blendOfDisagreeingTiles(overlap: number): Promise<{ row: Float32Array; grid: TileGrid }> {
  const grid: TileGrid = { channels: 2, height: 16, width: 32, tileH: 16, tileW: 12, overlap };
  const latents = new Float32Array(grid.channels * grid.height * grid.width);
  const blended = await blendTiles(latents, grid, (tile, _top, left) =>
    Promise.resolve(new Float32Array(tile.length).fill(10 * left)),
  );
  return { row: blended.subarray(5 * grid.width, 6 * grid.width), grid };
}

const largestJump = (row: Float32Array) => Math.max(...row.slice(1).map((value, i) => Math.abs(value - row[i]!)));

describe('blendTiles', () => {
  it('spreads tiles evenly with the last flush against the edge', () => {
    expect(tileStarts(32, 12, 4)).toEqual([0, 7, 13, 20]);
    expect(tileStarts(8, 12, 4)).toEqual([0]);
    expect(tileStarts(16, 8, 0)).toEqual([0, 8]);
  });

  it('cross-fades neighbouring tiles over their overlap, so a row across a boundary has no step', async () => {
    const { row } = await blendOfDisagreeingTiles(6);
    const starts = tileStarts(32, 12, 6);
    const spread = 10 * (starts.at(-1)! - starts[0]!);
    // Hard tiles would jump by 10 × the distance between tile origins at each boundary.
    expect(starts).toEqual([0, 5, 10, 15, 20]);
    expect(largestJump(row)).toBeLessThan(50 / 3);
    expect(row[0]).toBeCloseTo(0);
    expect(row[31]).toBeCloseTo(spread);
  });

  it('without overlap the same tiles meet at a step (what the blend prevents)', async () => {
    const { row } = await blendOfDisagreeingTiles(0);
    // Tiles at 0, 10 and 20: where two cover a cell it takes their mean, then steps.
    expect(tileStarts(32, 12, 0)).toEqual([0, 10, 20]);
    expect(largestJump(row)).toBeGreaterThanOrEqual(50 - 1e-3);
  });
});
