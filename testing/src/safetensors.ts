/** A `.safetensors` file of float32 tensors, written by hand (the format is 8 bytes of length, JSON, data). */
export function safetensorsFile(tensors: Record<string, { shape: number[]; values: number[] }>, dtype = 'F32'): Buffer {
  const header: Record<string, unknown> = {};
  let offset = 0;
  for (const [name, { shape, values }] of Object.entries(tensors)) {
    header[name] = { dtype, shape, data_offsets: [offset, offset + values.length * 4] };
    offset += values.length * 4;
  }
  const json = Buffer.from(JSON.stringify(header));
  const data = Buffer.from(Float32Array.from(Object.values(tensors).flatMap((t) => t.values)).buffer);
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(json.length));
  return Buffer.concat([length, json, data]);
}

/** A one-layer kohya LoRA for the tiny model's UNet; `seed` makes its bytes distinct. */
export function tinyKohyaLora(seed: number): Buffer {
  return safetensorsFile({
    'lora_unet_down_blocks_1_attentions_0_transformer_blocks_0_attn2_to_q.lora_down.weight': { shape: [1, 2], values: [seed, 2] },
    'lora_unet_down_blocks_1_attentions_0_transformer_blocks_0_attn2_to_q.lora_up.weight': { shape: [2, 1], values: [3, 4] },
    'lora_unet_down_blocks_1_attentions_0_transformer_blocks_0_attn2_to_q.alpha': { shape: [], values: [1] },
  });
}
