import { createHash, randomBytes } from 'node:crypto';
import { mkdir, open, readdir, rename, rm, stat, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import type { RunnerAsset } from '@atelier/protocol';
import { PipelineError } from '../errors/pipeline-error.js';
import { moduleLogger } from '../logging/logger.js';

const log = moduleLogger('asset-cache');

/** A job's asset as a local file, verified against the job offer's hash. */
export interface LocalAsset {
  kind: RunnerAsset['kind'];
  id: string;
  path: string;
  sha256: string;
}

export interface AssetCacheOptions {
  /** Beyond this many bytes the least recently used files are removed (never the ones just fetched). */
  maxBytes?: number;
  /** Per fetch; a server that stops sending does not hold the job forever. */
  timeoutMs?: number;
}

const DEFAULT_MAX_BYTES = 4 * 1024 * 1024 * 1024;
const HASH = /^[0-9a-f]{64}$/;

/**
 * The files jobs read (input images, masks, LoRAs), fetched from the server's signed URLs
 * and kept under `<dir>/<sha256>`. A file lands there only after its bytes matched the
 * offer's `sha256` and `bytes`, so a file found there is trusted without rereading it, and
 * the same upload or LoRA used by many jobs is fetched once. Concurrent requests for one
 * hash share one download.
 */
export class AssetCache {
  private readonly inFlight = new Map<string, Promise<string>>();
  private readonly maxBytes: number;
  private readonly timeoutMs: number;

  constructor(
    readonly dir: string,
    options: AssetCacheOptions = {},
  ) {
    this.maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
    this.timeoutMs = options.timeoutMs ?? 120_000;
  }

  /** Every asset of a job as a local file, in offer order. */
  async fetchAll(assets: readonly RunnerAsset[], signal?: AbortSignal): Promise<LocalAsset[]> {
    const local = await Promise.all(
      assets.map(async (asset) => ({
        kind: asset.kind,
        id: asset.id,
        sha256: asset.sha256,
        path: await this.fetch(asset, signal),
      })),
    );
    if (local.length > 0) await this.prune(new Set(local.map((file) => file.sha256)));
    return local;
  }

  /** The asset's local path, downloading and verifying it unless it is cached. */
  fetch(asset: RunnerAsset, signal?: AbortSignal): Promise<string> {
    if (!HASH.test(asset.sha256)) throw new PipelineError('invalid_params', `asset ${asset.id} has no valid sha256`);
    const pending = this.inFlight.get(asset.sha256);
    if (pending) return pending;
    const download = this.fetchOnce(asset, signal).finally(() => this.inFlight.delete(asset.sha256));
    this.inFlight.set(asset.sha256, download);
    return download;
  }

  private async fetchOnce(asset: RunnerAsset, signal?: AbortSignal): Promise<string> {
    const path = join(this.dir, asset.sha256);
    const cached = await stat(path).catch(() => undefined);
    if (cached?.size === asset.bytes) {
      const now = new Date();
      await utimes(path, now, now).catch(() => undefined); // recency, for pruning
      log.debug({ assetId: asset.id, sha256: asset.sha256 }, 'asset cache hit');
      return path;
    }
    await mkdir(this.dir, { recursive: true });
    const started = performance.now();
    const timeout = AbortSignal.timeout(this.timeoutMs);
    let response: Response;
    try {
      response = await fetch(asset.url, { signal: signal ? AbortSignal.any([signal, timeout]) : timeout });
    } catch (error) {
      if (signal?.aborted) throw error;
      // Retryable: the server may be restarting, and the next offer carries a fresh URL.
      throw new PipelineError('unavailable', `could not fetch asset ${asset.id}: ${(error as Error).message}`, { cause: error });
    }
    if (!response.ok || !response.body) {
      await response.body?.cancel();
      throw new PipelineError('unavailable', `fetching asset ${asset.id} answered HTTP ${response.status}`);
    }
    const temp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    const file = await open(temp, 'w');
    const hash = createHash('sha256');
    let size = 0;
    try {
      for await (const chunk of response.body as AsyncIterable<Uint8Array>) {
        size += chunk.length;
        // Never more than was promised: a wrong or hostile answer cannot fill the disk.
        if (size > asset.bytes)
          throw new PipelineError('unavailable', `asset ${asset.id} is larger than its ${asset.bytes} bytes`);
        hash.update(chunk);
        await file.write(chunk);
      }
      await file.close();
      const digest = hash.digest('hex');
      if (size !== asset.bytes || digest !== asset.sha256) {
        throw new PipelineError(
          'unavailable',
          `asset ${asset.id} does not match its offer: ${size} bytes, sha256 ${digest.slice(0, 12)}…, expected ${asset.bytes} bytes, ${asset.sha256.slice(0, 12)}…`,
        );
      }
      await rename(temp, path);
    } catch (error) {
      await file.close().catch(() => undefined);
      await rm(temp, { force: true });
      throw error;
    }
    log.info({ assetId: asset.id, kind: asset.kind, bytes: size, ms: Math.round(performance.now() - started) }, 'asset fetched');
    return path;
  }

  /** Removes the least recently used files until the cache fits its budget, keeping `keep`. */
  private async prune(keep: Set<string>): Promise<void> {
    const names = await readdir(this.dir).catch(() => [] as string[]);
    const files = (
      await Promise.all(
        names
          .filter((name) => HASH.test(name))
          .map(async (name) => {
            const info = await stat(join(this.dir, name)).catch(() => undefined);
            return info && { name, size: info.size, used: info.mtimeMs };
          }),
      )
    ).filter((file) => file !== undefined);
    let total = files.reduce((sum, file) => sum + file.size, 0);
    for (const file of files.sort((a, b) => a.used - b.used)) {
      if (total <= this.maxBytes) break;
      if (keep.has(file.name)) continue;
      await rm(join(this.dir, file.name), { force: true });
      total -= file.size;
    }
  }
}
