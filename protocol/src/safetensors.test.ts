import { describe, expect, it } from 'vitest';
import { parseLoraKey } from './lora.js';
import { parseSafetensorsHeader } from './safetensors.js';

/** 8 bytes of length, the JSON header, then `dataBytes` zero bytes. */
function file(header: unknown, dataBytes: number): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + dataBytes);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  return out;
}

describe('parseSafetensorsHeader', () => {
  it('reads tensors with absolute offsets and the metadata', () => {
    const bytes = file(
      {
        __metadata__: { format: 'pt' },
        b: { dtype: 'F16', shape: [3], data_offsets: [8, 14] },
        a: { dtype: 'F32', shape: [2, 1], data_offsets: [0, 8] },
      },
      14,
    );
    const dataStart = 8 + Number(new DataView(bytes.buffer).getBigUint64(0, true));
    expect(parseSafetensorsHeader(bytes)).toEqual({
      ok: true,
      metadata: { format: 'pt' },
      tensors: [
        { name: 'b', dtype: 'F16', shape: [3], begin: dataStart + 8, end: dataStart + 14 },
        { name: 'a', dtype: 'F32', shape: [2, 1], begin: dataStart, end: dataStart + 8 },
      ],
    });
  });

  it.each([
    ['too short', new Uint8Array(4), 'shorter than the 8-byte header length'],
    [
      'a header past the end',
      (() => {
        const f = file({}, 0);
        new DataView(f.buffer).setBigUint64(0, 1000n, true);
        return f;
      })(),
      'does not fit',
    ],
    ['an unknown dtype', file({ a: { dtype: 'F8', shape: [1], data_offsets: [0, 1] } }, 1), 'unknown dtype "F8"'],
    [
      'a size that does not match the shape',
      file({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 4] } }, 4),
      'spans 4 bytes but its shape and dtype need 8',
    ],
    [
      'overlapping tensors',
      file({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } }, 8),
      'gap or overlaps',
    ],
    ['bytes past the last tensor', file({ a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } }, 8), 'tensors cover 4'],
    ['a negative offset', file({ a: { dtype: 'F32', shape: [1], data_offsets: [-4, 0] } }, 0), 'invalid data_offsets'],
    ['non-string metadata', file({ __metadata__: { n: 1 } }, 0), '__metadata__'],
    ['a header that is not an object', file([1, 2], 0), 'not a JSON object'],
  ])('refuses %s', (_, bytes, reason) => {
    const result = parseSafetensorsHeader(bytes);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.reason).toContain(reason);
  });
});

describe('parseLoraKey', () => {
  it('reads kohya and diffusers/PEFT keys into the graph, the layer and the part', () => {
    expect(parseLoraKey('lora_te2_text_model_encoder_layers_0_mlp_fc1.alpha')).toEqual({
      component: 'text_encoder_2',
      layer: 'lora_te2_text_model_encoder_layers_0_mlp_fc1',
      module: { style: 'kohya', flat: 'text_model_encoder_layers_0_mlp_fc1' },
      part: 'alpha',
    });
    expect(parseLoraKey('unet.down_blocks.1.attentions.0.transformer_blocks.0.attn2.to_out.0.lora_B.weight')).toEqual({
      component: 'unet',
      layer: 'unet.down_blocks.1.attentions.0.transformer_blocks.0.attn2.to_out.0',
      module: { style: 'diffusers', path: 'down_blocks.1.attentions.0.transformer_blocks.0.attn2.to_out.0' },
      part: 'up',
    });
    expect(parseLoraKey('text_encoder.text_model.encoder.layers.0.self_attn.q_proj.lora.down.weight')).toMatchObject({
      component: 'text_encoder',
      part: 'down',
    });
    expect(parseLoraKey('lora_unet_conv_in.hada_w1_a')).toBeUndefined();
    expect(parseLoraKey('model.diffusion_model.out.0.weight')).toBeUndefined();
  });
});
