import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from '../config.js';
import { connectDatabase } from '../db/connect.js';
import { applicationDatabaseUri } from '../db/database-uri.js';
import { startDatabase } from '../db/embedded-database.js';
import { AppError } from '../errors/app-error.js';
import { createCliServices } from './cli-services.js';
import { COMMANDS } from './commands.js';
import { isUsageError } from './usage-error.js';

const USAGE = `Usage: atelier <command> [options] [--json]

  tenants create --name <name> --plan <plan> [--origin <url>]... [--mode live|test]
  tenants list [--status active|suspended|deleted]
  tenants set <tenantId> [--name <name>] [--plan <plan>] [--origin <url>]...
  tenants suspend <tenantId>
  tenants reactivate <tenantId>
  tenants delete <tenantId> --yes
  tenants audit <tenantId> [--limit <n>] [--action <action>]
  plans list
  plans set <plan> [--credits <n>] [--presets <p,…>] [--rpm <n>] [--concurrency <n>]
                   [--max-images <n>] [--max-pixels <n>] [--forced-watermark on|off] [--priority <n>]
  credits grant <tenantId> <amount> --reason <text>
  credits list <tenantId> [--limit <n>]
  runner-tokens create [--name <name>]
  runners list
  platform audit [--limit <n>] [--action <action>]

Plans: free, basic, pro, enterprise (starter is read as basic). Credits are whole numbers.
Connects to MONGODB_URI, or to the embedded database in ATELIER_DATA_DIR (./.data),
reusing one that \`npm run demo\` already started.`;

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      name: { type: 'string' },
      plan: { type: 'string' },
      origin: { type: 'string', multiple: true },
      mode: { type: 'string' },
      status: { type: 'string' },
      yes: { type: 'boolean', default: false },
      credits: { type: 'string' },
      presets: { type: 'string' },
      rpm: { type: 'string' },
      concurrency: { type: 'string' },
      'max-images': { type: 'string' },
      'max-pixels': { type: 'string' },
      'forced-watermark': { type: 'string' },
      priority: { type: 'string' },
      reason: { type: 'string' },
      limit: { type: 'string' },
      action: { type: 'string' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  const name = positionals.slice(0, 2).join(' ');
  if (values.help || !name) {
    console.log(USAGE);
    return values.help ? 0 : 2;
  }
  const command = COMMANDS[name];
  if (!command) {
    console.error(`atelier: unknown command "${name}"\n\n${USAGE}`);
    return 2;
  }

  const config = loadConfig();
  const server = await startDatabase({ dataDir: config.dataDir, cacheDir: config.cacheDir, mongodbUri: config.mongodbUri });
  const database = await connectDatabase(applicationDatabaseUri(server));
  try {
    const services = createCliServices(database, config.dataDir, config.storage, config.shopify);
    await services.plans.seed();
    const output = await command({ args: positionals.slice(2), options: values, services, actor: { kind: 'cli' } });
    console.log(values.json ? JSON.stringify(output.json, null, 2) : output.text);
    return 0;
  } finally {
    await database.close();
    await server.stop();
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    if (isUsageError(error)) {
      console.error(`atelier: ${(error as Error).message} (atelier --help shows the usage)`);
      process.exit(2);
    }
    if (error instanceof ConfigError) {
      console.error(`atelier: invalid configuration: ${error.message}`);
      process.exit(1);
    }
    if (error instanceof AppError && error.expose) {
      console.error(`atelier: ${error.message}`);
      process.exit(1);
    }
    console.error(error);
    process.exit(1);
  },
);
