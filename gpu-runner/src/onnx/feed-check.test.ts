import { describe, expect, it } from 'vitest';
import { checkFeeds, type InputSpec } from './feed-check.js';

const unet: InputSpec[] = [
  { name: 'sample', isTensor: true, type: 'float32', shape: ['batch_size', 4, 'height', 'width'] },
  { name: 'timestep', isTensor: true, type: 'float32', shape: ['steps'] },
  { name: 'text_embeds', isTensor: true, type: 'float32', shape: ['batch_size', 64] },
];
const good = {
  sample: { type: 'float32', dims: [2, 4, 8, 8] },
  timestep: { type: 'float32', dims: [1] },
  text_embeds: { type: 'float32', dims: [2, 64] },
};

const problems = (feeds: Record<string, { type: string; dims: number[] }>, specs = unet) => {
  const result = checkFeeds(specs, feeds);
  return result.ok ? [] : result.problems;
};

describe('checkFeeds', () => {
  it('accepts feeds that match names, dtypes, ranks and dims', () => {
    expect(checkFeeds(unet, good)).toEqual({ ok: true });
  });

  it('reports a wrong dtype with both shapes', () => {
    expect(problems({ ...good, timestep: { type: 'int64', dims: [1] } })).toEqual([
      'input "timestep": dtype int64, expected float32 (got int64[1], expected float32[steps])',
    ]);
  });

  it('reports a wrong rank and a wrong fixed dim', () => {
    expect(problems({ ...good, sample: { type: 'float32', dims: [2, 4, 64] } })[0]).toMatch(/"sample": rank 3, expected 4/);
    expect(problems({ ...good, text_embeds: { type: 'float32', dims: [2, 1280] } })[0]).toMatch(
      /"text_embeds": dim 1 is 1280, expected 64/,
    );
  });

  it('reports missing and unexpected inputs', () => {
    const { timestep: _omitted, ...rest } = good;
    expect(problems({ ...rest, timesteps: { type: 'float32', dims: [1] } })).toEqual([
      'unexpected input "timesteps" (graph inputs: sample, timestep, text_embeds)',
      'missing input "timestep"',
    ]);
  });

  it('requires a symbolic dim to have one size across inputs', () => {
    expect(problems({ ...good, text_embeds: { type: 'float32', dims: [1, 64] } })).toEqual([
      'input "text_embeds": dim 0 ("batch_size") is 1 but "sample" has batch_size=2',
    ]);
  });

  it('accepts any rank where no shape is declared, and rejects non-tensor inputs', () => {
    const specs: InputSpec[] = [
      { name: 't', isTensor: true, type: 'float32', shape: [] },
      { name: 'seq', isTensor: false },
    ];
    expect(problems({ t: { type: 'float32', dims: [] }, seq: { type: 'float32', dims: [1] } }, specs)).toEqual([
      'input "seq" is not a tensor input; only tensors are supported',
    ]);
    expect(problems({ t: { type: 'float32', dims: [3] }, seq: { type: 'float32', dims: [] } }, [specs[0]!])).toEqual([
      'unexpected input "seq" (graph inputs: t)',
    ]);
  });
});
