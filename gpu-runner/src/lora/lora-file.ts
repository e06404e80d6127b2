import { PipelineError } from '../errors/pipeline-error.js';
import type { FloatTensor, SafetensorsFile } from './safetensors-file.js';

/** The SDXL graphs a LoRA can patch, named as the model directory names them. */
export const LORA_COMPONENTS = ['unet', 'text_encoder', 'text_encoder_2'] as const;
export type LoraComponent = (typeof LORA_COMPONENTS)[number];

/**
 * One patched layer: ΔW = (alpha / rank) · up · down. `module` is the PyTorch module path
 * (`down_blocks.1.attentions.0.transformer_blocks.0.attn2.to_q`) for diffusers keys; kohya
 * keys flatten it with underscores (`down_blocks_1_attentions_0_…`), which cannot be undone
 * without the graph, so those are matched against the graph's flattened paths.
 */
export interface LoraModule {
  component: LoraComponent;
  /** The key prefix as written in the file, for error messages. */
  key: string;
  module: { style: 'diffusers'; path: string } | { style: 'kohya'; flat: string };
  down: FloatTensor;
  up: FloatTensor;
  alpha: number;
  rank: number;
}

const KOHYA_COMPONENTS: Record<string, LoraComponent> = {
  unet: 'unet',
  te: 'text_encoder',
  te1: 'text_encoder',
  te2: 'text_encoder_2',
};
// kohya: lora_unet_<flat>.lora_down.weight | .lora_up.weight | .alpha
const KOHYA_KEY = /^lora_(unet|te1|te2|te)_(.+)\.(lora_down\.weight|lora_up\.weight|alpha)$/;
// diffusers / PEFT: unet.<path>.lora_A.weight | .lora_B.weight (PEFT), .lora.down.weight | .lora.up.weight (older diffusers), .alpha
const DIFFUSERS_KEY =
  /^(unet|text_encoder|text_encoder_2)\.(.+)\.(lora_A\.weight|lora_B\.weight|lora\.down\.weight|lora\.up\.weight|alpha)$/;
const PART: Record<string, 'down' | 'up' | 'alpha'> = {
  'lora_down.weight': 'down',
  'lora_up.weight': 'up',
  'lora_A.weight': 'down',
  'lora_B.weight': 'up',
  'lora.down.weight': 'down',
  'lora.up.weight': 'up',
  alpha: 'alpha',
};

/**
 * The layers of a LoRA file in kohya (`lora_unet_…`, `lora_te1_…`, `lora_te2_…`) or
 * diffusers/PEFT (`unet.…`, `text_encoder.…`, `text_encoder_2.…`) key style. Without an
 * `alpha` tensor the scale is 1 (alpha = rank), as PEFT files keep alpha in their config.
 * Any other key is refused by name: silently skipping one would apply half a LoRA.
 */
export function parseLora(file: SafetensorsFile, label: string): LoraModule[] {
  const groups = new Map<
    string,
    Partial<Record<'down' | 'up' | 'alpha', FloatTensor>> & { head: Omit<LoraModule, 'down' | 'up' | 'alpha' | 'rank'> }
  >();
  for (const [name, tensor] of file.tensors) {
    const kohya = KOHYA_KEY.exec(name);
    const diffusers = kohya ? null : DIFFUSERS_KEY.exec(name);
    const match = kohya ?? diffusers;
    if (!match) throw new PipelineError('invalid_params', `${label}: "${name}" is not a LoRA key this runner understands`);
    const [, prefix, rest, suffix] = match as unknown as [string, string, string, string];
    const key = name.slice(0, name.length - suffix.length - 1);
    const group = groups.get(key) ?? {
      head: kohya
        ? { component: KOHYA_COMPONENTS[prefix]!, key, module: { style: 'kohya' as const, flat: rest } }
        : { component: prefix as LoraComponent, key, module: { style: 'diffusers' as const, path: rest } },
    };
    const part = PART[suffix]!;
    if (group[part]) throw new PipelineError('invalid_params', `${label}: "${key}" has two ${part} tensors`);
    group[part] = tensor;
    groups.set(key, group);
  }
  const modules: LoraModule[] = [];
  for (const [key, { head, down, up, alpha }] of groups) {
    if (!down || !up) throw new PipelineError('invalid_params', `${label}: "${key}" needs both a down and an up tensor`);
    const rank = down.shape[0] ?? 0;
    if (rank === 0 || up.shape[1] !== rank || down.shape.length < 2 || up.shape.length < 2) {
      throw new PipelineError(
        'invalid_params',
        `${label}: "${key}" has down [${down.shape.join(',')}] and up [${up.shape.join(',')}], which do not share a rank`,
      );
    }
    if (alpha && alpha.data.length !== 1)
      throw new PipelineError('invalid_params', `${label}: "${key}.alpha" must be a single number`);
    modules.push({ ...head, down, up, rank, alpha: alpha ? alpha.data[0]! : rank });
  }
  return modules;
}
