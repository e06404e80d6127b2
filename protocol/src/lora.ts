/**
 * LoRA files as tenants upload them and runners merge them: `.safetensors` with kohya or
 * diffusers/PEFT keys. The server checks every key with `parseLoraKey` before storing a
 * file, and the runner groups tensors by it, so both accept exactly the same files.
 */

/** The SDXL graphs a LoRA can patch, named as a model directory names them. */
export const LORA_COMPONENTS = ['unet', 'text_encoder', 'text_encoder_2'] as const;
export type LoraComponent = (typeof LORA_COMPONENTS)[number];

export interface LoraKey {
  component: LoraComponent;
  /** The key without its part suffix: one patched layer. */
  layer: string;
  /**
   * The PyTorch module path (diffusers keys) or kohya's underscore-flattened form of it,
   * which only a graph's own module paths can map back.
   */
  module: { style: 'diffusers'; path: string } | { style: 'kohya'; flat: string };
  part: 'down' | 'up' | 'alpha';
}

const KOHYA_COMPONENTS: Record<string, LoraComponent> = {
  unet: 'unet',
  te: 'text_encoder',
  te1: 'text_encoder',
  te2: 'text_encoder_2',
};
// kohya: lora_unet_<flat>.lora_down.weight | .lora_up.weight | .alpha (lora_te_ is SD 1.x's single encoder).
const KOHYA_KEY = /^lora_(unet|te1|te2|te)_(.+)\.(lora_down\.weight|lora_up\.weight|alpha)$/;
// diffusers/PEFT: <component>.<path>.lora_A.weight | .lora_B.weight, older diffusers .lora.down.weight | .lora.up.weight, .alpha
const DIFFUSERS_KEY =
  /^(unet|text_encoder|text_encoder_2)\.(.+)\.(lora_A\.weight|lora_B\.weight|lora\.down\.weight|lora\.up\.weight|alpha)$/;
const PARTS: Record<string, LoraKey['part']> = {
  'lora_down.weight': 'down',
  'lora_up.weight': 'up',
  'lora_A.weight': 'down',
  'lora_B.weight': 'up',
  'lora.down.weight': 'down',
  'lora.up.weight': 'up',
  alpha: 'alpha',
};

/** A tensor name of a kohya or diffusers/PEFT LoRA, or undefined for any other key. */
export function parseLoraKey(name: string): LoraKey | undefined {
  const kohya = KOHYA_KEY.exec(name);
  const match = kohya ?? DIFFUSERS_KEY.exec(name);
  if (!match) return undefined;
  const [, prefix, rest, suffix] = match as unknown as [string, string, string, string];
  return {
    component: kohya ? KOHYA_COMPONENTS[prefix]! : (prefix as LoraComponent),
    layer: name.slice(0, name.length - suffix.length - 1),
    module: kohya ? { style: 'kohya', flat: rest } : { style: 'diffusers', path: rest },
    part: PARTS[suffix]!,
  };
}

/** A tenant's uploaded LoRA as the REST API shows it. */
export interface LoraInfo {
  /** `lra_…`: what generation params name in `loras: [{ id, weight }]`. */
  id: string;
  name: string;
  /** Hex SHA-256 of the file: runners cache LoRAs by it. */
  sha256: string;
  bytes: number;
  /** Patched layers per graph. */
  layers: Record<LoraComponent, number>;
  createdAt: string;
}
