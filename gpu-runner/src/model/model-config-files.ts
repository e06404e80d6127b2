import { CROSS_ATTENTION_DIM, TINY_SDXL } from './tiny-model-spec.js';

/**
 * The JSON files of an Optimum SDXL export, filled in for the tiny model. Field names and
 * the values that drive inference (scheduler, special tokens, scaling factor,
 * `force_zeros_for_empty_prompt`) are SDXL's; sizes are the tiny ones.
 */
export function modelIndex(): Record<string, unknown> {
  return {
    _class_name: 'ORTStableDiffusionXLPipeline',
    _diffusers_version: '0.30.0',
    force_zeros_for_empty_prompt: true,
    add_watermarker: null,
    scheduler: ['diffusers', 'EulerDiscreteScheduler'],
    text_encoder: ['optimum', 'ORTModelTextEncoder'],
    text_encoder_2: ['optimum', 'ORTModelTextEncoder'],
    tokenizer: ['transformers', 'CLIPTokenizer'],
    tokenizer_2: ['transformers', 'CLIPTokenizer'],
    unet: ['optimum', 'ORTModelUnet'],
    vae_decoder: ['optimum', 'ORTModelVaeDecoder'],
    vae_encoder: ['optimum', 'ORTModelVaeEncoder'],
  };
}

/** SDXL base 1.0's `scheduler/scheduler_config.json`. */
export function schedulerConfig(): Record<string, unknown> {
  return {
    _class_name: 'EulerDiscreteScheduler',
    _diffusers_version: '0.30.0',
    beta_end: 0.012,
    beta_schedule: 'scaled_linear',
    beta_start: 0.00085,
    clip_sample: false,
    interpolation_type: 'linear',
    num_train_timesteps: 1000,
    prediction_type: 'epsilon',
    sample_max_value: 1.0,
    set_alpha_to_one: false,
    skip_prk_steps: true,
    steps_offset: 1,
    timestep_spacing: 'leading',
    trained_betas: null,
    use_karras_sigmas: false,
  };
}

const addedToken = (content: string) => ({
  __type: 'AddedToken',
  content,
  lstrip: false,
  normalized: true,
  rstrip: false,
  single_word: false,
});

/** `tokenizer_config.json` + `special_tokens_map.json`; SDXL's second tokenizer pads with `!`. */
export function tokenizerConfigs(padToken: string): { config: Record<string, unknown>; specialTokens: Record<string, unknown> } {
  return {
    config: {
      add_prefix_space: false,
      bos_token: addedToken('<|startoftext|>'),
      clean_up_tokenization_spaces: true,
      do_lower_case: true,
      eos_token: addedToken('<|endoftext|>'),
      errors: 'replace',
      model_max_length: TINY_SDXL.maxPositions,
      pad_token: padToken === '<|endoftext|>' ? addedToken(padToken) : padToken,
      tokenizer_class: 'CLIPTokenizer',
      unk_token: addedToken('<|endoftext|>'),
    },
    specialTokens: {
      bos_token: { content: '<|startoftext|>', lstrip: false, normalized: true, rstrip: false, single_word: false },
      eos_token: { content: '<|endoftext|>', lstrip: false, normalized: true, rstrip: false, single_word: false },
      pad_token: padToken,
      unk_token: { content: '<|endoftext|>', lstrip: false, normalized: true, rstrip: false, single_word: false },
    },
  };
}

export function textEncoderConfig(vocabSize: number, second: boolean): Record<string, unknown> {
  const spec = second ? TINY_SDXL.textEncoder2 : TINY_SDXL.textEncoder;
  return {
    architectures: [second ? 'CLIPTextModelWithProjection' : 'CLIPTextModel'],
    model_type: 'clip_text_model',
    hidden_act: 'quick_gelu',
    hidden_size: spec.hidden,
    intermediate_size: spec.hidden * 2,
    num_attention_heads: 1,
    num_hidden_layers: spec.layers,
    max_position_embeddings: TINY_SDXL.maxPositions,
    projection_dim: second ? TINY_SDXL.textEncoder2.projection : spec.hidden,
    vocab_size: vocabSize,
    bos_token_id: vocabSize - 2,
    eos_token_id: vocabSize - 1,
  };
}

/** `inChannels` 9: the inpainting UNet's config (latents, mask, masked-image latents). */
export function unetConfig(inChannels = 4): Record<string, unknown> {
  const u = TINY_SDXL.unet;
  return {
    _class_name: 'UNet2DConditionModel',
    in_channels: inChannels,
    out_channels: 4,
    sample_size: 128,
    block_out_channels: [u.channels],
    cross_attention_dim: CROSS_ATTENTION_DIM,
    addition_embed_type: 'text_time',
    addition_time_embed_dim: u.timeIdFrequencies,
    projection_class_embeddings_input_dim: 6 * u.timeIdFrequencies + TINY_SDXL.textEncoder2.projection,
    flip_sin_to_cos: true,
  };
}

export function vaeDecoderConfig(): Record<string, unknown> {
  return {
    _class_name: 'AutoencoderKL',
    in_channels: 3,
    out_channels: 3,
    latent_channels: 4,
    sample_size: 1024,
    block_out_channels: [...TINY_SDXL.vae.channels],
    scaling_factor: TINY_SDXL.vae.scalingFactor,
    force_upcast: true,
  };
}
