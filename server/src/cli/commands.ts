import { healthStatus } from '../queue/runner-health.js';
import { creditCommands } from './credit-commands.js';
import { parse, platformAuditQuerySchema } from '../http/schemas.js';
import { expectArgs, numberOption, stringOption, type Command } from './invocation.js';
import { planCommands } from './plan-commands.js';
import { auditLine, tenantCommands } from './tenant-commands.js';

/** Every `atelier` command, by its two words. */
export const COMMANDS: Record<string, Command> = {
  ...tenantCommands,
  ...planCommands,
  ...creditCommands,
  'platform audit': async ({ args, options, services }) => {
    expectArgs(args, [], 'platform audit');
    const limit = numberOption(options, 'limit');
    const action = stringOption(options, 'action');
    const query = parse(platformAuditQuerySchema, {
      ...(limit !== undefined ? { limit } : {}),
      ...(action !== undefined ? { action } : {}),
    });
    const page = await services.platformAudit.list(query);
    return { json: page, text: page.data.map(auditLine).join('\n') || 'No platform audit events.' };
  },
  'runner-tokens create': async ({ args, options, services, actor }) => {
    expectArgs(args, [], 'runner-tokens create');
    const token = await services.runnerTokens.create(stringOption(options, 'name') ?? '', actor);
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
