import { PLAN_NAMES, type PlanBody } from '@atelier/protocol';
import { z } from 'zod';
import { parse, planChangesSchema } from '../http/schemas.js';
import { expectArgs, numberOption, stringOption, type Command, type Invocation } from './invocation.js';

const planName = z.enum(PLAN_NAMES, { error: `the plan must be one of ${PLAN_NAMES.join(', ')}` });

export const planCommands: Record<string, Command> = {
  'plans list': async ({ args, services }) => {
    expectArgs(args, [], 'plans list');
    const plans = await services.plans.list();
    return { json: plans, text: plans.map(describe).join('\n') };
  },
  'plans set': async ({ args, options, services, actor }) => {
    const [name] = expectArgs(args, ['name'], 'plans set');
    const plan = await services.plans.update(parse(planName, name), parse(planChangesSchema, changesFrom(options)), actor);
    return { json: plan, text: describe(plan) };
  },
};

/** The options of `plans set`, named as the plan's fields for the schema to judge. */
function changesFrom(options: Invocation['options']): Record<string, unknown> {
  const presets = stringOption(options, 'presets');
  const watermark = stringOption(options, 'forced-watermark');
  const changes: Record<string, unknown> = {
    monthlyCredits: numberOption(options, 'credits'),
    presets: presets === undefined ? undefined : presets.split(',').map((preset) => preset.trim()),
    requestsPerMinute: numberOption(options, 'rpm'),
    concurrentJobs: numberOption(options, 'concurrency'),
    maxImagesPerRequest: numberOption(options, 'max-images'),
    maxPixels: numberOption(options, 'max-pixels'),
    forcedWatermark:
      watermark === 'on' || watermark === 'true' ? true : watermark === 'off' || watermark === 'false' ? false : watermark,
    queuePriority: numberOption(options, 'priority'),
  };
  return Object.fromEntries(Object.entries(changes).filter(([, value]) => value !== undefined));
}

function describe(plan: PlanBody): string {
  return [
    plan.name.padEnd(10),
    `${plan.monthlyCredits} credits/month`,
    `presets ${plan.presets.join(',')}`,
    `${plan.requestsPerMinute} rpm`,
    `${plan.concurrentJobs} concurrent`,
    `${plan.maxImagesPerRequest} images/request`,
    `${plan.maxPixels} px max`,
    `watermark ${plan.forcedWatermark ? 'forced' : 'optional'}`,
    `priority ${plan.queuePriority}`,
  ].join('  ');
}
