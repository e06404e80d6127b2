import { readFile } from 'node:fs/promises';
import { PipelineError } from '../errors/pipeline-error.js';
import type { LocalAsset } from '../runner/asset-cache.js';

/** Where a job's LoRAs' `.safetensors` bytes come from, by LoRA id. */
export interface LoraSource {
  load(id: string): Promise<Uint8Array>;
}

/**
 * The job's `lora` assets: files the runner fetched from the server's signed URLs and
 * verified against the offer's SHA-256 before the job started (runner/asset-cache.ts).
 */
export class AssetLoras implements LoraSource {
  private readonly paths: Map<string, string>;

  constructor(assets: readonly LocalAsset[]) {
    this.paths = new Map(assets.filter((asset) => asset.kind === 'lora').map((asset) => [asset.id, asset.path]));
  }

  async load(id: string): Promise<Uint8Array> {
    const path = this.paths.get(id);
    if (!path) throw new PipelineError('invalid_params', `LoRA "${id}" is named by the job but was not among its files`);
    return readFile(path);
  }
}
