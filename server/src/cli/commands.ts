import { healthStatus } from '../queue/runner-health.js';
import { creditCommands } from './credit-commands.js';
import { expectArgs, stringOption, type Command } from './invocation.js';
import { planCommands } from './plan-commands.js';
import { tenantCommands } from './tenant-commands.js';

/** Every `atelier` command, by its two words. */
export const COMMANDS: Record<string, Command> = {
  ...tenantCommands,
  ...planCommands,
  ...creditCommands,
  'runner-tokens create': async ({ args, options, services }) => {
    expectArgs(args, [], 'runner-tokens create');
    const token = await services.runnerTokens.create(stringOption(options, 'name') ?? '');
    return { json: token, text: `Runner token (shown once): ${token.token}` };
  },
  'runners list': async ({ args, services }) => {
    expectArgs(args, [], 'runners list');
    const runners = await services.runners.list();
    const now = new Date();
    return {
      json: runners,
      text:
        runners
          .map((r) => {
            const health = healthStatus(r, now);
            const until = health === 'cooling-down' ? ` until ${r.coolingDownUntil!.toISOString()}` : '';
            const last = r.lastFailureCode ? `  last failure ${r.lastFailureCode}` : '';
            return `${r._id}  ${r.name}  ${r.device}  ${r.state}  ${health}${until}${last}`;
          })
          .join('\n') || 'No runners.',
    };
  },
};
