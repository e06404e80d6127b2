import type { Performance, SchedulerName } from '@atelier/protocol';

/**
 * Fooocus's performance presets: each a fixed combination of steps, scheduler and
 * guidance. Extreme Speed (LCM) and Lightning run with the Euler scheduler and no
 * classifier-free guidance until their own samplers and LoRAs land in the runner.
 */
export interface Preset {
  steps: number;
  guidance: number;
  scheduler: SchedulerName;
  /** Credits per image. */
  credits: number;
}

export const PRESETS: Record<Performance, Preset> = {
  quality: { steps: 60, guidance: 4, scheduler: 'euler', credits: 2 },
  speed: { steps: 30, guidance: 4, scheduler: 'euler', credits: 1 },
  'extreme-speed': { steps: 8, guidance: 1, scheduler: 'euler', credits: 1 },
  lightning: { steps: 4, guidance: 1, scheduler: 'euler', credits: 1 },
};
