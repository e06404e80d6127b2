import { createHash } from 'node:crypto';
import mongoose from 'mongoose';
import {
  LORA_COMPONENTS,
  RUNNER_MAX_ASSET_BYTES,
  parseLoraKey,
  parseSafetensorsHeader,
  type LoraComponent,
  type LoraInfo,
} from '@atelier/protocol';
import { AppError, invalidRequest, notFound } from '../errors/app-error.js';
import { createLogger } from '../logging/logger.js';
import type { Lora } from '../models/lora.model.js';
import type { Models } from '../models/index.js';
import type { AssetSource } from '../storage/job-assets.js';
import type { Storage } from '../storage/storage.js';
import { tenantKey } from '../storage/storage.js';
import { requireTenantId } from '../tenancy/tenant-context.js';
import { newId } from './ids.js';

const { trusted } = mongoose;
const log = createLogger('loras');

export interface LoraLimits {
  /** Largest file accepted, in bytes. SDXL LoRAs are typically 10–400 MB. */
  maxBytes: number;
  /** LoRAs one tenant may keep. */
  maxPerTenant: number;
}

export const DEFAULT_LORA_LIMITS: LoraLimits = { maxBytes: RUNNER_MAX_ASSET_BYTES, maxPerTenant: 50 };

export interface LoraServiceDeps {
  models: Models;
  storage: Storage;
  limits: LoraLimits;
}

const FLOAT_DTYPES = new Set(['F32', 'F16', 'BF16']);
const NAME_MAX_LENGTH = 100;

/**
 * The LoRAs of the tenant in scope: uploads checked to be LoRAs a runner can merge, stored
 * under the tenant's prefix, listed, deleted, and resolved for its generations. Another
 * tenant's LoRA is never found here: the tenant plugin scopes every query.
 */
export class LoraService {
  constructor(private readonly deps: LoraServiceDeps) {}

  get limits(): LoraLimits {
    return this.deps.limits;
  }

  /** Stores `bytes` as a LoRA; the same bytes uploaded again answer the existing LoRA (`created: false`). */
  async create(bytes: Uint8Array, name: string | undefined): Promise<{ lora: LoraInfo; created: boolean }> {
    const tenantId = requireTenantId();
    if (bytes.length > this.deps.limits.maxBytes)
      throw new AppError('payload_too_large', `A LoRA may be at most ${this.deps.limits.maxBytes} bytes.`);
    if (name !== undefined && (name.length === 0 || name.length > NAME_MAX_LENGTH))
      throw invalidRequest(`name must be 1 to ${NAME_MAX_LENGTH} characters`);
    const layers = loraLayers(bytes);
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    const { Lora } = this.deps.models;

    const existing = await Lora.findOne({ sha256 }).lean();
    if (existing) return { lora: present(existing), created: false };
    if ((await Lora.countDocuments({})) >= this.deps.limits.maxPerTenant)
      throw new AppError('conflict', `An account may keep at most ${this.deps.limits.maxPerTenant} LoRAs; delete one first.`);

    const id = newId('lra');
    const storageKey = tenantKey(tenantId, 'loras', `${id}.safetensors`);
    // The file first: a record never points at nothing. A file whose insert loses the
    // race below is deleted again.
    await this.deps.storage.put(storageKey, bytes, 'application/octet-stream');
    try {
      const record = await Lora.create({
        _id: id,
        tenantId,
        name: name ?? id,
        sha256,
        bytes: bytes.length,
        storageKey,
        layers,
        createdAt: new Date(),
      });
      log.info({ tenantId, loraId: id, bytes: bytes.length, layers }, 'LoRA stored');
      return { lora: present(record.toObject()), created: true };
    } catch (error) {
      await this.deps.storage.delete(storageKey);
      if ((error as { code?: number }).code !== 11000) throw error;
      const winner = await Lora.findOne({ sha256 }).lean();
      if (!winner) throw error;
      return { lora: present(winner), created: false };
    }
  }

  async list(): Promise<LoraInfo[]> {
    const loras = await this.deps.models.Lora.find({}).sort({ createdAt: -1, _id: -1 }).lean();
    return loras.map(present);
  }

  async delete(id: string): Promise<{ id: string; deleted: true }> {
    const lora = await this.deps.models.Lora.findOneAndDelete({ _id: id }).lean();
    if (!lora) throw notFound(`LoRA "${id}"`);
    await this.deps.storage.delete(lora.storageKey);
    log.info({ tenantId: lora.tenantId, loraId: id }, 'LoRA deleted');
    return { id, deleted: true };
  }

  /** Serves LoRA bytes to the runner a job was offered to, through `GET /v1/assets`. */
  assetSource(): AssetSource {
    return {
      idPrefix: 'lra_',
      locate: async (assetId) => {
        const lora = await this.deps.models.Lora.findById(assetId).lean();
        return lora ? { storageKey: lora.storageKey, contentType: 'application/octet-stream' } : undefined;
      },
    };
  }

  /** Which of `ids` the tenant in scope owns, with each file's hash. */
  async owned(ids: readonly string[]): Promise<Map<string, { sha256: string; bytes: number }>> {
    if (ids.length === 0) return new Map();
    const loras = await this.deps.models.Lora.find({ _id: trusted({ $in: [...ids] }) }, { sha256: 1, bytes: 1 }).lean();
    return new Map(loras.map((lora) => [lora._id, { sha256: lora.sha256, bytes: lora.bytes }]));
  }
}

/** Patched layers per graph, after checking the file is a LoRA a runner can read. */
function loraLayers(bytes: Uint8Array): Record<LoraComponent, number> {
  const header = parseSafetensorsHeader(bytes);
  if (!header.ok) throw invalidRequest(`The file is not a valid .safetensors file: ${header.reason}.`);
  if (header.tensors.length === 0) throw invalidRequest('The file holds no tensors.');
  const layers = new Map<string, LoraComponent>();
  for (const tensor of header.tensors) {
    const key = parseLoraKey(tensor.name);
    if (!key) throw invalidRequest(`"${tensor.name}" is not a kohya or diffusers LoRA key.`);
    if (!FLOAT_DTYPES.has(tensor.dtype))
      throw invalidRequest(`"${tensor.name}" is ${tensor.dtype}; LoRA tensors must be F32, F16 or BF16.`);
    layers.set(key.layer, key.component);
  }
  const counts = Object.fromEntries(LORA_COMPONENTS.map((c) => [c, 0])) as Record<LoraComponent, number>;
  for (const component of layers.values()) counts[component] += 1;
  return counts;
}

function present(lora: Lora): LoraInfo {
  return {
    id: lora._id,
    name: lora.name,
    sha256: lora.sha256,
    bytes: lora.bytes,
    layers: lora.layers,
    createdAt: lora.createdAt.toISOString(),
  };
}
