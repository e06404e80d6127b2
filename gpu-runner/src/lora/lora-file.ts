import { parseLoraKey, type LoraComponent } from '@atelier/protocol';
import { PipelineError } from '../errors/pipeline-error.js';
import type { FloatTensor, SafetensorsFile } from './safetensors-file.js';

export { LORA_COMPONENTS, type LoraComponent } from '@atelier/protocol';

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

/**
 * The layers of a LoRA file in kohya (`lora_unet_…`, `lora_te1_…`, `lora_te2_…`) or
 * diffusers/PEFT (`unet.…`, `text_encoder.…`, `text_encoder_2.…`) key style. Without an
 * `alpha` tensor the scale is 1 (alpha = rank), as PEFT files keep alpha in their config.
 * Any other key is refused by name: silently skipping one would apply half a LoRA.
 */
export function parseLora(file: SafetensorsFile, label: string): LoraModule[] {
  type Group = Partial<Record<'down' | 'up' | 'alpha', FloatTensor>> & { head: Pick<LoraModule, 'component' | 'key' | 'module'> };
  const groups = new Map<string, Group>();
  for (const [name, tensor] of file.tensors) {
    const parsed = parseLoraKey(name);
    if (!parsed) throw new PipelineError('invalid_params', `${label}: "${name}" is not a LoRA key this runner understands`);
    const { component, layer: key, module, part } = parsed;
    const group: Group = groups.get(key) ?? { head: { component, key, module } };
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
