import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { moduleLogger } from '../logging/logger.js';
import { MODEL_FILES } from '../model/model-layout.js';
import { OnnxSession, type OnnxSessionOptions } from '../onnx/onnx-session.js';
import { GraphWeights } from './graph-weights.js';
import { LORA_COMPONENTS, parseLora, type LoraComponent } from './lora-file.js';
import type { LoraSource } from './lora-source.js';
import { mergeLoras, type AppliedLora } from './merge-loras.js';
import { readSafetensors } from './safetensors-file.js';

const log = moduleLogger('lora');

export interface LoraRequest {
  id: string;
  weight: number;
}

/** Sessions of the graphs a LoRA set patches; the others run on the base model's. */
export type MergedSessions = Partial<Record<LoraComponent, OnnxSession>>;

export interface LoraSessionCacheDeps {
  modelDir: string;
  /** Bytes of merged graphs kept alive at most (each session holds its own weights). */
  budgetBytes: number;
  sessionOptions?: Omit<OnnxSessionOptions, 'label' | 'externalDataDir'>;
}

const GRAPH_FILES: Record<Exclude<LoraComponent, 'unet'>, string> = {
  text_encoder: MODEL_FILES.textEncoder,
  text_encoder_2: MODEL_FILES.textEncoder2,
};

interface Entry {
  sessions: MergedSessions;
  bytes: number;
}

/**
 * Merged sessions per LoRA set and weights, least recently used first out once their
 * merged graphs exceed the budget. A set is keyed by its LoRAs sorted by id, so the
 * order a client lists them in neither splits the cache nor changes the float64 sum.
 * Used from the pipeline's job queue: one acquisition at a time, and an evicted entry
 * is never the one a running job holds.
 */
export class LoraSessionCache {
  private readonly entries = new Map<string, Entry>();
  private usedBytes = 0;

  constructor(private readonly deps: LoraSessionCacheDeps) {}

  /** Total bytes of the merged graphs held now. */
  get bytes(): number {
    return this.usedBytes;
  }

  get size(): number {
    return this.entries.size;
  }

  /**
   * `source` is read only on a miss: a set merged before needs none of its files again.
   * `unetFile` is the UNet graph the LoRAs go into (relative to the model directory): the
   * base one, or a fast preset's distilled UNet, whose initializers an Optimum export
   * names exactly as the base UNet's (same architecture, other weights).
   */
  async sessionsFor(
    loras: readonly LoraRequest[],
    source: LoraSource,
    unetFile: string = MODEL_FILES.unet,
  ): Promise<MergedSessions> {
    const sorted = [...loras].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    const key = JSON.stringify([unetFile, sorted.map(({ id, weight }) => [id, weight])]);
    const hit = this.entries.get(key);
    if (hit) {
      this.entries.delete(key);
      this.entries.set(key, hit);
      return hit.sessions;
    }
    const started = performance.now();
    const entry = await this.build(sorted, source, unetFile);
    await this.evictFor(entry.bytes);
    this.entries.set(key, entry);
    this.usedBytes += entry.bytes;
    log.info(
      {
        loras: sorted,
        unetFile,
        components: Object.keys(entry.sessions),
        bytes: entry.bytes,
        ms: Math.round(performance.now() - started),
      },
      'merged LoRA sessions created',
    );
    return entry.sessions;
  }

  async release(): Promise<void> {
    const entries = [...this.entries.values()];
    this.entries.clear();
    this.usedBytes = 0;
    await Promise.all(entries.flatMap((entry) => Object.values(entry.sessions).map((session) => session.release())));
  }

  private async build(loras: readonly LoraRequest[], source: LoraSource, unetFile: string): Promise<Entry> {
    const applied: AppliedLora[] = [];
    for (const { id, weight } of loras) {
      const label = `LoRA "${id}"`;
      applied.push({ id, weight, modules: parseLora(readSafetensors(await source.load(id), label), label) });
    }
    const sessions: MergedSessions = {};
    let bytes = 0;
    try {
      for (const component of LORA_COMPONENTS) {
        if (!applied.some((lora) => lora.modules.some((module) => module.component === component))) continue;
        const path = join(this.deps.modelDir, component === 'unet' ? unetFile : GRAPH_FILES[component]);
        const graph = GraphWeights.decode(await readFile(path), component, dirname(path));
        mergeLoras(graph, component, applied);
        const merged = graph.encode();
        sessions[component] = await OnnxSession.create(merged, {
          ...this.deps.sessionOptions,
          label: `${component}+loras`,
          externalDataDir: dirname(path),
        });
        bytes += merged.length + graph.externalBytes();
      }
    } catch (error) {
      await Promise.all(Object.values(sessions).map((session) => session.release()));
      throw error;
    }
    return { sessions, bytes };
  }

  private async evictFor(incoming: number): Promise<void> {
    for (const [key, entry] of this.entries) {
      if (this.usedBytes + incoming <= this.deps.budgetBytes) break;
      this.entries.delete(key);
      this.usedBytes -= entry.bytes;
      await Promise.all(Object.values(entry.sessions).map((session) => session.release()));
      log.info({ key, bytes: entry.bytes }, 'evicted merged LoRA sessions');
    }
    if (incoming > this.deps.budgetBytes)
      log.warn({ bytes: incoming, budgetBytes: this.deps.budgetBytes }, 'one merged LoRA set exceeds the LoRA memory budget');
  }
}
