import type { SchedulerName, TimestepSpacing } from '@atelier/protocol';
import { DpmSolverMultistepScheduler } from './dpm-solver-multistep-scheduler.js';
import { EulerAncestralDiscreteScheduler } from './euler-ancestral-discrete-scheduler.js';
import { EulerDiscreteScheduler } from './euler-discrete-scheduler.js';
import { LcmScheduler } from './lcm-scheduler.js';
import type { Scheduler } from './scheduler.js';

export interface SchedulerOverrides {
  /** diffusers' `timestep_spacing`; `trailing` for Lightning-style few-step models. */
  timestepSpacing?: TimestepSpacing;
}

/**
 * The scheduler a job names, built from the model's `scheduler_config.json` the way
 * diffusers swaps schedulers (`X.from_config(pipe.scheduler.config, **overrides)`), so the
 * model's training schedule (betas, steps_offset, prediction type) carries over.
 */
export function createScheduler(
  name: SchedulerName,
  modelConfig: Readonly<Record<string, unknown>>,
  overrides: SchedulerOverrides = {},
): Scheduler {
  const spacing = overrides.timestepSpacing ? { timestepSpacing: overrides.timestepSpacing } : {};
  switch (name) {
    case 'euler':
      return EulerDiscreteScheduler.fromConfig(modelConfig, spacing);
    case 'euler-ancestral':
      return EulerAncestralDiscreteScheduler.fromConfig(modelConfig, spacing);
    case 'dpmpp-2m-karras':
      return DpmSolverMultistepScheduler.fromConfig(modelConfig, {
        ...spacing,
        algorithmType: 'dpmsolver++',
        solverOrder: 2,
        useKarrasSigmas: true,
      });
    case 'dpmpp-2m-sde-karras':
      return DpmSolverMultistepScheduler.fromConfig(modelConfig, {
        ...spacing,
        algorithmType: 'sde-dpmsolver++',
        solverOrder: 2,
        useKarrasSigmas: true,
      });
    case 'lcm':
      // LCM picks its timesteps from the distillation schedule; spacing does not apply.
      return LcmScheduler.fromConfig(modelConfig);
    default: {
      const unknown: never = name;
      throw new Error(`unknown scheduler ${JSON.stringify(unknown)}`);
    }
  }
}
