import { idSchema } from '@atelier/protocol/schemas';
import { creditEntriesQuerySchema, creditGrantSchema, parse } from '../http/schemas.js';
import { expectArgs, numberOption, stringOption, type Command } from './invocation.js';

export const creditCommands: Record<string, Command> = {
  'credits grant': async ({ args, options, services, actor }) => {
    const [tenantId, amount] = expectArgs(args, ['tenantId', 'amount'], 'credits grant');
    const grant = parse(creditGrantSchema, {
      amount: amount.trim() === '' ? Number.NaN : Number(amount),
      reason: stringOption(options, 'reason'),
    });
    const result = await services.tenants.within(parse(idSchema, tenantId), () => services.ledger.grant({ ...grant, actor }));
    return {
      json: { entry: result.entry, balance: result.balance },
      text: `Granted ${grant.amount} credits to ${tenantId} (entry ${result.entry.seq}); available now: ${result.balance.available}.`,
    };
  },
  'credits list': async ({ args, options, services }) => {
    const [tenantId] = expectArgs(args, ['tenantId'], 'credits list');
    const { limit } = parse(creditEntriesQuerySchema, { limit: numberOption(options, 'limit') ?? 20 });
    const listing = await services.tenants.within(parse(idSchema, tenantId), async () => ({
      balance: await services.ledger.balance(),
      ...(await services.ledger.entries(limit)),
    }));
    const { balance, reserved, available } = listing.balance;
    return {
      json: listing,
      text: [
        `balance ${balance}  reserved ${reserved}  available ${available}`,
        ...listing.data.map(
          (e) => `#${e.seq}  ${e.at}  ${e.kind}  ${e.amount >= 0 ? '+' : ''}${e.amount}  → ${e.balance}  ${e.reason}`,
        ),
      ].join('\n'),
    };
  },
};
