import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { ensureModel } from '../src/model/ensure-model.js';
import { SdxlPipeline } from '../src/pipeline/sdxl-pipeline.js';

/** The tiny generated model and a CPU pipeline over it, shared by one test file. */
export interface TinyPipeline {
  /** A scratch folder for the file's own files; the model is in `model/` inside it. */
  readonly dir: string;
  readonly modelDir: string;
  readonly pipeline: SdxlPipeline;
}

/**
 * Writes the tiny model into a fresh folder and loads it before the file's tests, and
 * disposes of both after them. Read the fields inside tests: they are set in `beforeAll`.
 */
export function useTinyPipeline(name: string): TinyPipeline {
  let dir: string | undefined;
  let pipeline: SdxlPipeline | undefined;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), `${name}-`));
    await ensureModel(join(dir, 'model'));
    pipeline = await SdxlPipeline.load(join(dir, 'model'), { provider: 'cpu' });
  });
  afterAll(async () => {
    await pipeline?.dispose();
    if (dir) await rm(dir, { recursive: true, force: true });
  });
  const loaded = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error('the tiny pipeline is loaded in beforeAll; read it inside a test');
    return value;
  };
  return {
    get dir() {
      return loaded(dir);
    },
    get modelDir() {
      return join(loaded(dir), 'model');
    },
    get pipeline() {
      return loaded(pipeline);
    },
  };
}
