import type { LoraComponent } from '../lora/lora-file.js';
import { writeSafetensors, type FloatTensor } from '../lora/safetensors-file.js';
import { GaussianNoise } from '../random/pcg32.js';
import { CROSS_ATTENTION_DIM, TINY_SDXL } from './tiny-model-spec.js';

/** One layer a tiny LoRA patches: the module path and its PyTorch weight shape [out, in, ...kernel]. */
export interface TinyLoraTarget {
  component: LoraComponent;
  path: string;
  weight: number[];
}

export interface TinyLoraLayer extends TinyLoraTarget {
  down: FloatTensor;
  up: FloatTensor;
}

/**
 * The layers of the tiny model a LoRA trainer would target: the UNet's cross-attention
 * projections, its time-embedding Linears and `conv_in` (a LoCon-style conv LoRA), and
 * every attention and MLP Linear of both text encoders. Paths are the real SDXL module
 * paths the tiny generator names its nodes after.
 */
export function tinyLoraTargets(): TinyLoraTarget[] {
  const { unet, textEncoder, textEncoder2 } = TINY_SDXL;
  const c = unet.channels;
  const d = unet.attentionDim;
  const attn = 'down_blocks.1.attentions.0.transformer_blocks.0.attn2';
  const targets: TinyLoraTarget[] = [
    { component: 'unet', path: 'conv_in', weight: [c, 4, 3, 3] },
    { component: 'unet', path: 'time_embedding.linear_1', weight: [unet.timeEmbedDim, unet.timestepFrequencies] },
    { component: 'unet', path: `${attn}.to_q`, weight: [d, c] },
    { component: 'unet', path: `${attn}.to_k`, weight: [d, CROSS_ATTENTION_DIM] },
    { component: 'unet', path: `${attn}.to_v`, weight: [d, CROSS_ATTENTION_DIM] },
    { component: 'unet', path: `${attn}.to_out.0`, weight: [c, d] },
  ];
  for (const [component, { hidden: h, layers }] of [
    ['text_encoder', textEncoder],
    ['text_encoder_2', textEncoder2],
  ] as const) {
    for (let layer = 0; layer < layers; layer++) {
      const p = `text_model.encoder.layers.${layer}`;
      for (const proj of ['q_proj', 'k_proj', 'v_proj', 'out_proj'])
        targets.push({ component, path: `${p}.self_attn.${proj}`, weight: [h, h] });
      targets.push({ component, path: `${p}.mlp.fc1`, weight: [2 * h, h] });
      targets.push({ component, path: `${p}.mlp.fc2`, weight: [h, 2 * h] });
    }
  }
  return targets;
}

/**
 * Seeded low-rank factors for `targets`: down [rank, in, ...kernel], up [out, rank, 1, 1]
 * for convs, as kohya's LoCon stores them. Scaled so that at weight 1 a LoRA visibly
 * changes the tiny model's image without swamping it.
 */
export function tinyLoraLayers(targets: readonly TinyLoraTarget[], rank: number, seed: number): TinyLoraLayer[] {
  const noise = new GaussianNoise(seed);
  return targets.map((target) => {
    const [out, ...inner] = target.weight as [number, ...number[]];
    const innerSize = inner.reduce((a, b) => a * b, 1);
    const kernel = inner.slice(1).map(() => 1);
    return {
      ...target,
      down: { shape: [rank, ...inner], data: scaled(noise.gaussian(rank * innerSize), 1 / Math.sqrt(innerSize)) },
      up: { shape: [out, rank, ...kernel], data: scaled(noise.gaussian(out * rank), 0.5 / Math.sqrt(rank)) },
    };
  });
}

export type LoraKeyStyle = 'kohya' | 'diffusers';

const KOHYA_PREFIX: Record<LoraComponent, string> = {
  unet: 'lora_unet_',
  text_encoder: 'lora_te1_',
  text_encoder_2: 'lora_te2_',
};

/**
 * A `.safetensors` LoRA of `layers` in kohya keys (`lora_unet_<flat>.lora_down.weight`,
 * `.lora_up.weight`, `.alpha`) or diffusers/PEFT keys (`unet.<path>.lora_A.weight`,
 * `.lora_B.weight`; an `.alpha` only when it differs from the rank, as PEFT files omit it).
 */
export function tinyLoraFile(layers: readonly TinyLoraLayer[], style: LoraKeyStyle, alpha?: number): Uint8Array {
  const tensors = new Map<string, FloatTensor>();
  for (const { component, path, down, up } of layers) {
    const rank = down.shape[0]!;
    const withAlpha = style === 'kohya' || (alpha !== undefined && alpha !== rank);
    const prefix = style === 'kohya' ? `${KOHYA_PREFIX[component]}${path.replace(/\./g, '_')}` : `${component}.${path}`;
    tensors.set(`${prefix}.${style === 'kohya' ? 'lora_down' : 'lora_A'}.weight`, down);
    tensors.set(`${prefix}.${style === 'kohya' ? 'lora_up' : 'lora_B'}.weight`, up);
    if (withAlpha) tensors.set(`${prefix}.alpha`, { shape: [], data: Float32Array.of(alpha ?? rank) });
  }
  return writeSafetensors(tensors, { generator: 'atelier-tiny-lora' });
}

function scaled(values: Float32Array, factor: number): Float32Array {
  for (let i = 0; i < values.length; i++) values[i] = values[i]! * factor;
  return values;
}
