import { cp, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ResolvedJobParams } from '@atelier/protocol';
import { describe, expect, it } from 'vitest';
import { useTinyPipeline } from '../../test/tiny-pipeline.js';
import { decodeRgb } from '../img2img/image-io.js';
import { float16Io } from '../model/float16-variant.js';
import { OnnxSession } from '../onnx/onnx-session.js';
import { SdxlPipeline } from './sdxl-pipeline.js';

const tiny = useTinyPipeline('float16-model');

const params: ResolvedJobParams = {
  prompt: 'product photo of a brass desk lamp, soft light',
  width: 128,
  height: 128,
  steps: 8,
  guidance: 5,
  scheduler: 'euler',
  seed: 21,
  imageCount: 1,
  outputFormat: 'png',
  performance: 'speed',
};

/** The tiny model with float16 inputs and outputs on every graph the text-to-image path runs, as an fp16 export has. */
async function float16Model(): Promise<string> {
  const dir = join(tiny.dir, 'model-fp16');
  await cp(tiny.modelDir, dir, { recursive: true });
  for (const graph of ['text_encoder', 'text_encoder_2', 'unet', 'vae_decoder']) {
    const path = join(dir, graph, 'model.onnx');
    await writeFile(path, float16Io(await readFile(path)));
  }
  return dir;
}

describe('fp16 exports', () => {
  it('run with float16 inputs and outputs converted at the session boundary, close to the float32 image', async () => {
    const dir = await float16Model();
    const unet = await OnnxSession.create(join(dir, 'unet', 'model.onnx'), { provider: 'cpu' });
    try {
      expect([...unet.float16.inputs].sort()).toEqual(['encoder_hidden_states', 'sample', 'text_embeds', 'time_ids', 'timestep']);
      expect([...unet.float16.outputs]).toEqual(['out_sample']);
      // The rest of the runner sees float32 only.
      expect(unet.inputs.every((input) => input.isTensor && input.type === 'float32')).toBe(true);
    } finally {
      await unet.release();
    }

    const fp16 = await SdxlPipeline.load(dir, { provider: 'cpu' });
    try {
      const [half] = await fp16.generate(params);
      const [full] = await tiny.pipeline.generate(params);
      const [a, b] = [await decodeRgb(half!.bytes), await decodeRgb(full!.bytes)];
      let sum = 0;
      for (let i = 0; i < a.data.length; i++) sum += Math.abs(a.data[i]! - b.data[i]!);
      // Rounding to half precision at every boundary moves pixels by a level or two, no more.
      expect(sum / a.data.length).toBeLessThan(3);
      // Deterministic as the float32 model is.
      expect((await fp16.generate(params))[0]!.bytes.equals(half!.bytes)).toBe(true);
    } finally {
      await fp16.dispose();
    }
  });
});
