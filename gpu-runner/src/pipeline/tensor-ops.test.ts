import { describe, expect, it } from 'vitest';
import { applyGuidance, rescaleGuidance } from './tensor-ops.js';

const std = (data: Float32Array) => {
  const mean = data.reduce((a, b) => a + b, 0) / data.length;
  return Math.sqrt(data.reduce((a, b) => a + (b - mean) ** 2, 0) / (data.length - 1));
};

describe('applyGuidance', () => {
  it('computes uncond + scale * (cond - uncond) per element', () => {
    expect(Array.from(applyGuidance(Float32Array.of(1, 2, 3, 5), 2))).toEqual([5, 8]);
  });
});

describe('rescaleGuidance', () => {
  const uncond = Float32Array.from({ length: 64 }, (_, i) => Math.sin(i));
  const cond = Float32Array.from({ length: 64 }, (_, i) => Math.sin(i) + 0.3 * Math.cos(3 * i));
  const batched = new Float32Array([...uncond, ...cond]);
  const guided = applyGuidance(batched, 12);

  it('is a no-op at 0', () => {
    expect(rescaleGuidance(guided, cond, 0)).toBe(guided);
  });

  it("pulls the guided prediction's spread toward the conditional one's, all the way at 1", () => {
    expect(std(guided)).toBeGreaterThan(2 * std(cond));
    const half = rescaleGuidance(guided, cond, 0.5);
    const full = rescaleGuidance(guided, cond, 1);
    expect(std(half)).toBeLessThan(std(guided));
    expect(std(half)).toBeGreaterThan(std(full));
    expect(std(full)).toBeCloseTo(std(cond), 4);
  });
});
