import type { GenerationMode, GenerationParams, Performance, ResolvedJobParams } from '@atelier/protocol';

/**
 * What a generation costs, as data: whole credits (the smallest unit; never fractions).
 * A job's price is `imageCount × (perImage[preset] × the size's multiplier + mode
 * surcharge + LoRA surcharge)`. The size tiers are upper bounds on width × height,
 * smallest first; a size above the last tier is priced at the last tier's multiplier
 * (the plan's `maxPixels` bounds sizes before pricing).
 */
export interface CostTable {
  perImage: Record<Performance, number>;
  sizeTiers: readonly { maxPixels: number; multiplier: number }[];
  modeSurcharge: Record<GenerationMode, number>;
  /** Per image when the request applies at least one LoRA. */
  loraSurcharge: number;
}

export const COST_TABLE: CostTable = {
  perImage: { quality: 2, speed: 1, 'extreme-speed': 1, lightning: 1 },
  sizeTiers: [
    { maxPixels: 1024 * 1024 + 65_536, multiplier: 1 },
    { maxPixels: 2048 * 2048, multiplier: 2 },
    { maxPixels: 4096 * 4096, multiplier: 4 },
  ],
  modeSurcharge: { txt2img: 0, 'vary-subtle': 0, 'vary-strong': 0, upscale: 1, background: 1 },
  loraSurcharge: 1,
};

export type PricedJob = Pick<ResolvedJobParams, 'performance' | 'width' | 'height' | 'imageCount'> &
  Pick<GenerationParams, 'mode' | 'loras'>;

export function priceOf(job: PricedJob, table: CostTable = COST_TABLE): number {
  const pixels = job.width * job.height;
  const tier = table.sizeTiers.find((candidate) => pixels <= candidate.maxPixels) ?? table.sizeTiers.at(-1)!;
  const perImage =
    table.perImage[job.performance] * tier.multiplier +
    table.modeSurcharge[job.mode ?? 'txt2img'] +
    (job.loras && job.loras.length > 0 ? table.loraSurcharge : 0);
  return job.imageCount * perImage;
}
