import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PipelineError } from '../errors/pipeline-error.js';

/** Where a runner gets a LoRA's `.safetensors` bytes by id. */
export interface LoraSource {
  load(id: string): Promise<Uint8Array>;
}

/** Ids as the server issues them: no path separators, nothing to climb out of the directory with. */
const LORA_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$/;

/** `<dir>/<id>.safetensors`: LoRAs installed on the runner's disk (and CI's). */
export class LoraDirectory implements LoraSource {
  constructor(private readonly dir: string) {}

  async load(id: string): Promise<Uint8Array> {
    if (!LORA_ID.test(id) || id.includes('..')) throw new PipelineError('invalid_params', `"${id}" is not a LoRA id`);
    try {
      return await readFile(join(this.dir, `${id}.safetensors`));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT')
        throw new PipelineError('invalid_params', `LoRA "${id}" is not installed on this runner`);
      throw error;
    }
  }
}
