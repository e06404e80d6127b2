import { SdxlPipeline } from './dist/pipeline/sdxl-pipeline.js';
import sharp from 'sharp';
const p = await SdxlPipeline.load('/tmp/tiny1', { provider: 'cpu' });
const size = Number(process.argv[2] ?? 256);
for (const [prompt, guidance] of [['Product photo of a leather handbag on a white background', 7], ['a ceramic coffee mug, natural light', 7], ['a ceramic coffee mug, natural light', 1]]) {
  const t0 = performance.now();
  const [img] = await p.generate({ prompt, negativePrompt: '', width: size, height: size, steps: 30, guidance, scheduler: 'euler', seed: 42, imageCount: 1, outputFormat: 'png', performance: 'quality' });
  const ms = performance.now() - t0;
  const { data, info } = await sharp(img.bytes).raw().toBuffer({ resolveWithObject: true });
  let s=0, s2=0; const distinct = new Set(); for (const v of data) { s+=v; s2+=v*v; distinct.add(v); }
  const n=data.length, mean=s/n, std=Math.sqrt(s2/n-mean*mean);
  let sat=0; for (const v of data) if (v===0||v===255) sat++;
  console.log(prompt.slice(0,20), guidance, info.width, info.height, 'mean', mean.toFixed(1), 'std', std.toFixed(1), 'distinct', distinct.size, 'saturated%', (100*sat/n).toFixed(2), 'ms', ms.toFixed(0), 'bytes', img.bytes.length);
  await sharp(img.bytes).toFile(`/tmp/out-${guidance}-${prompt.length}.png`);
}
await p.dispose();
