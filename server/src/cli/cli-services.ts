import type { ShopifyConfig } from '@atelier/plugin-shopify';
import type { Database } from '../db/connect.js';
import { RunnerRegistry } from '../queue/runner-registry.js';
import { AuditLog } from '../services/audit-log.js';
import { CreditLedger } from '../services/credit-ledger.js';
import { KeyService } from '../services/key-service.js';
import { PlanService } from '../services/plans.js';
import { PlatformAuditLog } from '../services/platform-audit-log.js';
import { RunnerTokenService } from '../services/runner-token-service.js';
import { TenantConfigService } from '../services/tenant-config.js';
import { TenantDeletion } from '../services/tenant-deletion.js';
import { TenantService } from '../services/tenant-service.js';
import { createStorage } from '../storage/create-storage.js';
import type { StorageConfig } from '../storage/storage-config.js';

export type CliServices = ReturnType<typeof createCliServices>;

/**
 * The CLI's composition root: the operator services, wired as the server wires them
 * (server.ts), on the same database and the same files directory of the data dir.
 */
export function createCliServices(database: Database, dataDir: string, storage: StorageConfig, shopify?: ShopifyConfig) {
  const { models } = database;
  const audit = new AuditLog({ models });
  const platformAudit = new PlatformAuditLog({ models });
  const keys = new KeyService({ models, audit });
  const plans = new PlanService({ models, platformAudit });
  const configs = new TenantConfigService({ models, plans, audit });
  const ledger = new CreditLedger({ models, audit });
  return {
    audit,
    platformAudit,
    plans,
    ledger,
    tenants: new TenantService({ models, keys, plans, configs, ledger, audit }),
    deletion: new TenantDeletion({ models, storage: createStorage(storage, dataDir), shopify }),
    runnerTokens: new RunnerTokenService({ models, platformAudit }),
    runners: new RunnerRegistry({ models }),
  };
}
