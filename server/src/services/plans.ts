import type { Performance } from '@atelier/protocol';

/**
 * Plans decide what a tenant may use. Only the names and presets matter yet; limits,
 * priorities and prices arrive with the fair-queue and credits work.
 */
export interface Plan {
  name: string;
  performances: readonly Performance[];
}

export const PLANS: Record<string, Plan> = {
  free: { name: 'free', performances: ['speed', 'extreme-speed', 'lightning'] },
  starter: { name: 'starter', performances: ['speed', 'extreme-speed', 'lightning'] },
  pro: { name: 'pro', performances: ['quality', 'speed', 'extreme-speed', 'lightning'] },
  enterprise: { name: 'enterprise', performances: ['quality', 'speed', 'extreme-speed', 'lightning'] },
};

export const PLAN_NAMES = Object.keys(PLANS);

export function planFor(name: string): Plan {
  return PLANS[name] ?? PLANS.free!;
}
