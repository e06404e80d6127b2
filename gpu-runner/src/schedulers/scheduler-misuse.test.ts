import { SCHEDULERS } from '@atelier/protocol';
import { describe, expect, it } from 'vitest';
import { createScheduler } from './create-scheduler.js';
import { DpmSolverMultistepScheduler } from './dpm-solver-multistep-scheduler.js';
import { EulerAncestralDiscreteScheduler } from './euler-ancestral-discrete-scheduler.js';
import { EulerDiscreteScheduler } from './euler-discrete-scheduler.js';
import { LcmScheduler } from './lcm-scheduler.js';
import type { NoiseSource } from './scheduler.js';

const SDXL = {
  beta_schedule: 'scaled_linear',
  beta_start: 0.00085,
  beta_end: 0.012,
  timestep_spacing: 'leading',
  steps_offset: 1,
};
const zeros: NoiseSource = { gaussian: (count) => new Float32Array(count) };
const four = () => new Float32Array(4);

describe.each(SCHEDULERS)('the %s scheduler refuses misuse', (name) => {
  it('throws when stepping or scaling before setTimesteps', () => {
    const scheduler = createScheduler(name, SDXL);
    expect(() => scheduler.step(four(), 999, four(), { noise: zeros })).toThrow(/before setTimesteps/);
    expect(() => scheduler.scaleModelInput(four(), 999)).toThrow(/before setTimesteps/);
  });

  it('throws on a timestep outside the schedule or out of order, and after the last step', () => {
    const scheduler = createScheduler(name, SDXL);
    scheduler.setTimesteps(4);
    expect(() => scheduler.scaleModelInput(four(), 3)).toThrow(/not in the schedule/);
    const [first, , third] = scheduler.timesteps;
    scheduler.step(four(), first!, four(), { noise: zeros });
    expect(() => scheduler.step(four(), third!, four(), { noise: zeros })).toThrow(/not the current one/);

    scheduler.setTimesteps(2);
    for (const t of scheduler.timesteps) scheduler.step(four(), t, four(), { noise: zeros });
    expect(() => scheduler.step(four(), scheduler.timesteps[1]!, four(), { noise: zeros })).toThrow(/after the last/);
  });

  it('throws on bad step counts and mismatched sizes', () => {
    const scheduler = createScheduler(name, SDXL);
    expect(() => scheduler.setTimesteps(0)).toThrow(/numInferenceSteps/);
    expect(() => scheduler.setTimesteps(2.5)).toThrow(/numInferenceSteps/);
    scheduler.setTimesteps(3);
    expect(() => scheduler.step(new Float32Array(3), scheduler.timesteps[0]!, four(), { noise: zeros })).toThrow(/values/);
  });

  it(`${createScheduler(name, SDXL).stochastic ? 'needs' : 'does not need'} a noise source`, () => {
    const scheduler = createScheduler(name, SDXL);
    scheduler.setTimesteps(3);
    const run = () => scheduler.step(four(), scheduler.timesteps[0]!, four());
    if (scheduler.stochastic) expect(run).toThrow(/noise source/);
    else expect(run().prevSample).toHaveLength(4);
  });
});

describe('scheduler configs', () => {
  it('refuses options the ports do not implement, by name', () => {
    expect(() => EulerDiscreteScheduler.fromConfig({ use_karras_sigmas: true })).toThrow(
      /use_karras_sigmas=true is not supported/,
    );
    expect(() => EulerDiscreteScheduler.fromConfig({ timestep_spacing: 'sideways' })).toThrow(/timestep_spacing="sideways"/);
    expect(() => EulerAncestralDiscreteScheduler.fromConfig({ prediction_type: 'sample' })).toThrow(/prediction_type/);
    expect(() => DpmSolverMultistepScheduler.fromConfig({ solver_order: 3 })).toThrow(/solver_order=3/);
    expect(() => DpmSolverMultistepScheduler.fromConfig({ algorithm_type: 'dpmsolver' })).toThrow(/algorithm_type/);
    expect(() => DpmSolverMultistepScheduler.fromConfig({ thresholding: true })).toThrow(/thresholding/);
    expect(() => LcmScheduler.fromConfig({ thresholding: true })).toThrow(/thresholding/);
    expect(() => EulerDiscreteScheduler.fromConfig({ num_train_timesteps: '1000' })).toThrow(/must be a number/);
  });

  it('ignores keys that belong to other schedulers, as diffusers from_config does', () => {
    const scheduler = EulerDiscreteScheduler.fromConfig({ ...SDXL, skip_prk_steps: true, set_alpha_to_one: false });
    expect(scheduler.config.stepsOffset).toBe(1);
    expect(scheduler.config.timestepSpacing).toBe('leading');
  });

  it('lets a job override the spacing: trailing starts at the last training timestep', () => {
    const leading = createScheduler('euler', SDXL);
    const trailing = createScheduler('euler', SDXL, { timestepSpacing: 'trailing' });
    leading.setTimesteps(4);
    trailing.setTimesteps(4);
    expect(Array.from(leading.timesteps)).toEqual([751, 501, 251, 1]);
    expect(Array.from(trailing.timesteps)).toEqual([999, 749, 499, 249]);
  });

  it('LCM refuses more steps than its distillation schedule has', () => {
    const scheduler = LcmScheduler.fromConfig(SDXL);
    expect(() => scheduler.setTimesteps(51)).toThrow(/original_inference_steps/);
  });
});
