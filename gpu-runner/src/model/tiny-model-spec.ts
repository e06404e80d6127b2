/**
 * Dimensions of the tiny SDXL stand-in. Every name and rank matches the real export; only
 * the widths shrink (real SDXL values in the comments) so the whole model is a few hundred
 * kilobytes and a 1024x1024 generation runs on a laptop CPU.
 */
export const TINY_SDXL = {
  /** Seeds every weight; change it and every file changes. */
  seed: 20_240_611,
  /** Upper bound: learning stops once no pair occurs twice (~300 merges with the built-in corpus). */
  bpeMerges: 400,
  /** CLIP's context length (77 in SDXL too). */
  maxPositions: 77,
  /** CLIP ViT-L: hidden 768, 12 layers. */
  textEncoder: { hidden: 32, layers: 3 },
  /** OpenCLIP bigG: hidden 1280, 32 layers, projection 1280. */
  textEncoder2: { hidden: 64, layers: 4, projection: 64 },
  unet: {
    /** SDXL: 320 base channels. */
    channels: 16,
    attentionDim: 16,
    /** SDXL: 320-wide sinusoid → 1280 time embedding. */
    timestepFrequencies: 32,
    timeEmbedDim: 32,
    /** SDXL `addition_time_embed_dim`: 256 per time id. */
    timeIdFrequencies: 8,
    /** Weight of the residual branch against the identity path (see tiny-unet.ts). */
    residualScale: 0.12,
  },
  vae: {
    /** Channels after the first conv, the first and the second 2x upsampling (the third keeps the last). */
    channels: [16, 16, 8] as const,
    /** SDXL VAE's `scaling_factor`. */
    scalingFactor: 0.13025,
  },
} as const;

/** `encoder_hidden_states` width: both encoders' penultimate states side by side (2048 in SDXL). */
export const CROSS_ATTENTION_DIM = TINY_SDXL.textEncoder.hidden + TINY_SDXL.textEncoder2.hidden;
