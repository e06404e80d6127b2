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
}

export const PRESETS: Record<Performance, Preset> = {
  quality: { steps: 60, guidance: 4, scheduler: 'euler' },
  speed: { steps: 30, guidance: 4, scheduler: 'euler' },
  'extreme-speed': { steps: 8, guidance: 1, scheduler: 'euler' },
  lightning: { steps: 4, guidance: 1, scheduler: 'euler' },
};
