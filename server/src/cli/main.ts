import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from '../config.js';
import { connectDatabase } from '../db/connect.js';
import { applicationDatabaseUri } from '../db/database-uri.js';
import { startDatabase } from '../db/embedded-database.js';
import { AppError } from '../errors/app-error.js';
import { createTenantSchema, parse } from '../http/schemas.js';
import { RunnerRegistry } from '../queue/runner-registry.js';
import { AuditLog } from '../services/audit-log.js';
import { KeyService } from '../services/key-service.js';
import { RunnerTokenService } from '../services/runner-token-service.js';
import { TenantService } from '../services/tenant-service.js';
import { isUsageError } from './usage-error.js';

const USAGE = `Usage: atelier <command> [options] [--json]

  tenants create --name <name> --plan <plan> [--origin <url>]... [--mode live|test]
  tenants list
  runner-tokens create [--name <name>]
  runners list

Connects to MONGODB_URI, or to the embedded database in ATELIER_DATA_DIR (./.data),
reusing one that \`npm run demo\` already started.`;

interface Output {
  json: unknown;
  text: string;
}

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      name: { type: 'string' },
      plan: { type: 'string' },
      origin: { type: 'string', multiple: true },
      mode: { type: 'string' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  const command = positionals.join(' ');
  if (values.help || !command) {
    console.log(USAGE);
    return values.help ? 0 : 2;
  }

  const config = loadConfig();
  const server = await startDatabase({ dataDir: config.dataDir, cacheDir: config.cacheDir, mongodbUri: config.mongodbUri });
  const database = await connectDatabase(applicationDatabaseUri(server));
  try {
    const keys = new KeyService({ models: database.models, audit: new AuditLog({ models: database.models }) });
    const tenants = new TenantService({ models: database.models, keys });
    let output: Output;
    switch (command) {
      case 'tenants create': {
        const input = parse(createTenantSchema, {
          name: values.name,
          plan: values.plan,
          origins: values.origin ?? [],
          ...(values.mode ? { mode: values.mode } : {}),
        });
        const created = await tenants.create(input);
        output = {
          json: { tenantId: created.tenantId, secretKey: created.secretKey, publishableKey: created.publishableKey },
          text: [
            `Created tenant ${created.name} (${created.tenantId}) on plan ${created.plan}.`,
            `Secret key (shown once): ${created.secretKey}`,
            `Publishable key: ${created.publishableKey}`,
          ].join('\n'),
        };
        break;
      }
      case 'tenants list': {
        const list = await tenants.list();
        output = {
          json: list,
          text: list.map((t) => `${t.tenantId}  ${t.name}  ${t.plan}  ${t.origins.join(',')}`).join('\n') || 'No tenants.',
        };
        break;
      }
      case 'runner-tokens create': {
        const token = await new RunnerTokenService({ models: database.models }).create(values.name ?? '');
        output = { json: token, text: `Runner token (shown once): ${token.token}` };
        break;
      }
      case 'runners list': {
        const runners = await new RunnerRegistry({ models: database.models }).list();
        output = {
          json: runners,
          text: runners.map((r) => `${r._id}  ${r.name}  ${r.device}  ${r.state}`).join('\n') || 'No runners.',
        };
        break;
      }
      default:
        console.error(`atelier: unknown command "${command}"\n\n${USAGE}`);
        return 2;
    }
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
