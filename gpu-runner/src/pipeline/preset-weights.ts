import { access } from 'node:fs/promises';
import { join } from 'node:path';
import { PERFORMANCE_PRESETS, PERFORMANCES, type Performance } from '@atelier/protocol';

/**
 * The graph a preset's distilled UNet lives in, relative to the model directory; undefined
 * when the preset runs on the base UNet.
 */
export function presetUnetFile(performance: Performance): string | undefined {
  const weights = PERFORMANCE_PRESETS[performance].weights;
  return weights ? `${weights.unet}/model.onnx` : undefined;
}

/**
 * The presets this model directory can run: those without extra weights, and those whose
 * distilled UNet is installed. Only these are advertised to the server.
 */
export async function installedPerformances(modelDir: string): Promise<Performance[]> {
  const installed = await Promise.all(
    PERFORMANCES.map(async (performance) => {
      const file = presetUnetFile(performance);
      if (!file) return true;
      return access(join(modelDir, file)).then(
        () => true,
        () => false,
      );
    }),
  );
  return PERFORMANCES.filter((_, i) => installed[i]);
}
